"""Open the app in the default browser once its server answers (used by `make demo`).

The app runs headless so that Streamlit's first-run prompt never waits on a terminal; this opens the page
instead, as `streamlit run` would have.
"""

from __future__ import annotations

import sys
import time
import urllib.request
import webbrowser


def main(url: str, timeout_s: float = 120.0) -> int:
    """Poll `<url>/_stcore/health` until it answers, then open `url`; 1 if it never answered."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    print(f"Stripe Press Shop is up at {url}", flush=True)
                    webbrowser.open(url)
                    return 0
        except OSError:
            pass  # not listening yet
        time.sleep(0.5)  # poll interval while the server starts
    print(f"The app did not answer at {url} within {timeout_s:.0f} s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "http://localhost:8501"))
