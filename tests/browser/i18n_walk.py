"""Every visible string of a page, checked against the message catalogs of the page's language
(web/i18n/{lang}/*.json). User content carries translate="no" and Intl's dates sit in <time>:
those are skipped, as are strings without a letter (numbers, clocks, emoji)."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from playwright.sync_api import Page

CATALOGS = Path(__file__).resolve().parents[2] / "web" / "i18n"

# The page's visible strings: text nodes, the labels people read in attributes, select options.
_VISIBLE_STRINGS = r"""() => {
  const skip = (el) => !el || el.closest('[translate="no"], time, script, style, noscript');
  const shown = (el) => el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true });
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (skip(el) || el.closest('select') || !shown(el)) continue;
    out.push(node.textContent);
  }
  for (const el of document.body.querySelectorAll('[placeholder], [aria-label], [title], img[alt]')) {
    if (skip(el) || !shown(el)) continue;
    for (const attr of ['placeholder', 'aria-label', 'title', 'alt']) {
      if (el.hasAttribute(attr)) out.push(el.getAttribute(attr));
    }
  }
  for (const select of document.body.querySelectorAll('select')) {
    if (skip(select) || !shown(select)) continue;
    for (const option of select.options) if (!skip(option)) out.push(option.textContent);
  }
  out.push(document.title);
  return out;
}"""

_LETTER = re.compile(r"[^\W\d_]")


@cache
def catalog(lang: str) -> tuple[re.Pattern[str], ...]:
    """Every message of ``lang`` (all domains, all plural forms) as a full-match pattern: a
    ``{param}`` stands for any text; a message of parameters only is left out."""
    patterns = []
    for path in sorted((CATALOGS / lang).glob("*.json")):
        for message in json.loads(path.read_text(encoding="utf-8")).values():
            forms = message.values() if isinstance(message, dict) else [message]
            for form in forms:
                parts = re.split(r"\{\w+\}", _squash(form))
                if not _LETTER.search("".join(parts)):
                    continue  # "{name}" alone would account for any string at all
                patterns.append(re.compile(".+?".join(re.escape(p) for p in parts), re.S))
    return tuple(patterns)


def _squash(text: str) -> str:
    return " ".join(text.split())


def untranslated(page: Page, lang: str) -> list[str]:
    """The page's visible strings that no message of ``lang`` accounts for."""
    patterns = catalog(lang)
    missing = []
    for raw in page.evaluate(_VISIBLE_STRINGS):
        text = _squash(raw or "")
        if not _LETTER.search(text) or text in missing:
            continue
        if not any(p.fullmatch(text) for p in patterns):
            missing.append(text)
    return missing
