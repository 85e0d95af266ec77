"""Moments taken in the browser's own pages, for the benches that time a page in Chromium.

Each frame of a context (cross-origin frames such as Stripe's card frame too) notes the instant a watched element
first becomes usable, on the DOM change that makes it so, and the instant of the last click on a watched button.
Playwright's assertions are only the wait: they poll at 20, 50 and 100 ms and then every 500 ms, so a page usable
at 1.2 s could be seen at 1.7 s, adding up to half a second to a slow page and nothing to a fast one.

Times are epoch milliseconds (performance.timeOrigin + now), so those of different frames and of successive
documents compare; a click is kept in sessionStorage, where the page it leads to can read it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from playwright.sync_api import Browser, BrowserContext, Frame, Page

VIEWPORT = {"width": 1280, "height": 1000}


@dataclass(frozen=True)
class Watch:
    """What makes an element count, for `name`: matching `selector`, then each condition given.

    text: its whole text; prefix: how its text starts; contains: a part of its text; enabled: neither disabled
    nor read-only; drawn: it has a box on the page; clicked: note the click on it rather than its being usable;
    retext: its text may change in place (a metric's value), so text changes are watched too, which the page pays
    for on every change of any text (about 75 ms on the Charges page's first view).
    """

    name: str
    selector: str
    text: str = ""
    prefix: str = ""
    contains: str = ""
    enabled: bool = False
    drawn: bool = False
    clicked: bool = False
    retext: bool = False


_SCRIPT = """(() => {
  const watched = WATCHED_JSON;
  const at = (window.__moments = {});
  const now = () => performance.timeOrigin + performance.now();
  const matches = (element, watch) => {
    const text = element.textContent.trim();
    return (
      (!watch.text || text === watch.text) &&
      (!watch.prefix || text.startsWith(watch.prefix)) &&
      (!watch.contains || text.includes(watch.contains)) &&
      (!watch.enabled || (!element.disabled && !element.readOnly)) &&
      (!watch.drawn || element.getClientRects().length > 0)
    );
  };
  const check = () => {
    for (const watch of watched) {
      if (watch.clicked || at[watch.name] !== undefined) continue;
      if ([...document.querySelectorAll(watch.selector)].some((e) => matches(e, watch))) at[watch.name] = now();
    }
  };
  // React changes a text in place (a metric's value) with no childList change: watched only when asked.
  const changes = { subtree: true, childList: true, attributes: true, characterData: watched.some((w) => w.retext) };
  new MutationObserver(check).observe(document, changes);
  document.addEventListener(
    "click",
    (event) => {
      for (const watch of watched) {
        const target = watch.clicked && event.target.closest(watch.selector);
        if (target && matches(target, watch)) sessionStorage.setItem(`moment:${watch.name}`, now());
      }
    },
    { capture: true },
  );
})();"""


def new_context(browser: Browser, watched: list[Watch]) -> BrowserContext:
    """A browser context whose every frame notes the moments of `watched`."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(_SCRIPT.replace("WATCHED_JSON", json.dumps([asdict(watch) for watch in watched])))
    return context


def moment(frame: Frame, name: str) -> float:
    """When `frame` first saw the watched `name` usable, in epoch ms (the caller has waited until it is)."""
    seen = frame.evaluate("(name) => window.__moments[name]", name)
    if seen is None:
        raise RuntimeError(f"{frame.url} never noted {name!r}, though the browser shows it")
    return seen


def clicked_at(page: Page, name: str) -> float:
    """When the watched button `name` was last clicked in this tab, in epoch ms."""
    seen = page.evaluate("(name) => sessionStorage.getItem(`moment:${name}`)", name)
    if seen is None:
        raise RuntimeError(f"no click on {name!r} was noted in {page.url}")
    return float(seen)


def since_navigation(page: Page, at: float) -> float:
    """Seconds from the navigation that opened `page`'s document to `at` (epoch ms)."""
    return (at - page.evaluate("performance.timeOrigin")) / 1000
