"""What S3 answered for each multipart part we sent, so a resumed upload knows its parts again.

S3's own listing (list_parts) says which parts of an unfinished upload it holds and their ETags,
but an ETag is opaque (with SSE-KMS it is not the part's MD5). The journal pairs each ETag
S3 returned with the MD5 of the bytes we sent (their integrity checked by S3 against
Content-MD5 on upload): a listed part is ours and current when its ETag is the journal's for
that upload, part number and MD5. Lost or absent, the journal only costs re-sending parts.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from .. import atomic


class PartJournal:
    """upload id -> part number -> (MD5 hex of the bytes sent, ETag S3 returned); in memory when
    `path` is None, else kept in that JSON file (written atomically after each part)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._parts: dict[str, dict[str, list[str]]] = {}
        if self.path is not None and self.path.is_file():
            try:
                self._parts = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self._parts = {}  # unreadable: the parts are sent again

    def etag(self, upload_id: str, number: int, md5_hex: str) -> str | None:
        """The ETag S3 gave part `number` of `upload_id` when we sent bytes with this MD5, or None."""
        with self._lock:
            sent = self._parts.get(upload_id, {}).get(str(number))
        return sent[1] if sent and sent[0] == md5_hex else None

    def record(self, upload_id: str, number: int, md5_hex: str, etag: str) -> None:
        """Remember S3's ETag for a part just sent."""
        with self._lock:
            self._parts.setdefault(upload_id, {})[str(number)] = [md5_hex, etag]
            self._save()

    def forget(self, upload_id: str) -> None:
        """Drop an upload that was completed or aborted."""
        with self._lock:
            if self._parts.pop(upload_id, None) is not None:
                self._save()

    def _save(self) -> None:
        if self.path is not None:
            atomic.write_json(self.path, self._parts)
