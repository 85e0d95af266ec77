"""What the pages' Download CSV buttons would give, read in AppTest.

Every CSV button passes a callable (`st.download_button(data=lambda: …)`): Streamlit registers it with the media
file manager and runs it only when the button is clicked, which AppTest cannot do. `Downloads` notes each callable
as it is registered, so a test can run it and read the bytes a click would have downloaded.
"""

from __future__ import annotations

import csv
import io

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager


class Downloads:
    """The download buttons registered while installed: file name -> the callable that makes its bytes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.makers: dict[str, object] = {}
        register = MediaFileManager.add_deferred
        makers = self.makers

        def noted(manager, data_callable, mimetype, coordinates, file_name=None, **kwargs):
            makers[file_name] = data_callable
            return register(manager, data_callable, mimetype, coordinates, file_name=file_name, **kwargs)

        monkeypatch.setattr(MediaFileManager, "add_deferred", noted)

    def names(self) -> list[str]:
        """The file names of the buttons registered so far."""
        return sorted(self.makers)

    def rows(self, file_name: str) -> list[list[str]]:
        """The CSV `file_name` as rows of cells (the header first), as a click would download it."""
        data = self.makers[file_name]()
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return list(csv.reader(io.StringIO(text, newline="")))
