"""The stand-in's blob store: an S3 API (moto's server mode) on 127.0.0.1, as the Flyte sandbox uses minio.

A TEST STAND-IN (see the package docstring). Everything Flyte keeps in its blob store lives here:
fast-registration bundles, offloaded execution inputs, each node's inputs and outputs, raw output
data (FlyteFile, FlyteDirectory, pickles). Nothing is shared through a host folder: the launcher
uploads through signed URLs, task containers read and write with the credentials a sandbox gives
its pods, and the launcher gets outputs back inline or through a signed URL, never with its own
credentials.

Mirrors:
- flytestdlib/storage/config.go: ``storage.limits.maxDownloadMBs`` (2 MB by default) is what
  flytepropeller may read of one object (stow_store.go ReadRaw: "limit exceeded ...").
- flyteadmin/dataproxy/service.go: upload locations are ``s3://<bucket>/<project>/<domain>/
  <base32(md5)>/<filename>`` with a signed PUT URL.
- flyte sandbox (docker/sandbox-bundled, the flyte-binary chart): pods get ``FLYTE_AWS_ENDPOINT``,
  ``FLYTE_AWS_ACCESS_KEY_ID`` and ``FLYTE_AWS_SECRET_ACCESS_KEY``.
"""

from __future__ import annotations

import logging
import socket
import uuid
from typing import Any

MiB = 1024 * 1024
MAX_DOWNLOAD_MB = 2  # flytestdlib/storage/config.go: Limits.GetLimitMegabytes default
ACCESS_KEY, SECRET_KEY = "minio", "miniostorage"  # the sandbox's, as flytekit's Config.for_sandbox() has them


class BlobStore:
    """One bucket on a private moto S3 server; ``s3://`` URIs in, bytes out."""

    def __init__(self) -> None:
        import boto3
        from botocore.config import Config
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per S3 request otherwise
        port = _free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._server.start()
        self.endpoint = f"http://127.0.0.1:{port}"
        self.bucket = f"flyte-standin-{uuid.uuid4().hex[:8]}"
        self._s3: Any = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        self._s3.create_bucket(Bucket=self.bucket)

    def uri(self, *parts: str) -> str:
        return f"s3://{self.bucket}/" + "/".join(p.strip("/") for p in parts if p)

    def _key(self, uri: str) -> str:
        prefix = f"s3://{self.bucket}/"
        if not uri.startswith(prefix):
            raise ValueError(f"{uri} is not in the stand-in's bucket {self.bucket}")
        return uri[len(prefix) :]

    def put(self, uri: str, data: bytes) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=self._key(uri), Body=data)

    def get(self, uri: str) -> bytes:
        return bytes(self._s3.get_object(Bucket=self.bucket, Key=self._key(uri))["Body"].read())

    def size(self, uri: str) -> int | None:
        """The object's size, or None when there is none (a HEAD, as flytestdlib's Head)."""
        try:
            return int(self._s3.head_object(Bucket=self.bucket, Key=self._key(uri))["ContentLength"])
        except self._s3.exceptions.ClientError:
            return None

    def exists(self, uri: str) -> bool:
        return self.size(uri) is not None

    def signed_put(self, uri: str, content_md5: str = "", expires: int = 3600) -> str:
        params = {"Bucket": self.bucket, "Key": self._key(uri)}
        if content_md5:
            params["ContentMD5"] = content_md5
        return str(self._s3.generate_presigned_url("put_object", Params=params, ExpiresIn=expires))

    def signed_get(self, uri: str, expires: int = 3600) -> str:
        params = {"Bucket": self.bucket, "Key": self._key(uri)}
        return str(self._s3.generate_presigned_url("get_object", Params=params, ExpiresIn=expires))

    def pod_env(self) -> dict[str, str]:
        """What a sandbox pod gets to reach the blob store (flytekit's S3 settings read these)."""
        return {
            "FLYTE_AWS_ENDPOINT": self.endpoint,
            "FLYTE_AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "FLYTE_AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    def stop(self) -> None:
        self._server.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
