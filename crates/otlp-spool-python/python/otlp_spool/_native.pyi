"""Type stubs of the native module ``otlp_spool._native`` (built from ``src/`` by maturin)."""

import os

__version__: str

class SpoolError(Exception):
    """Base class of every otlp_spool error."""

class ConfigError(SpoolError):
    """A configuration key or value was refused, or the output directory cannot be used."""

class BufferFullError(SpoolError):
    """The signal's buffer lane is full (backpressure); nothing was kept, retry later."""

class SpoolClosedError(SpoolError):
    """The spool is shut down and takes nothing more."""

class BatchTooLargeError(SpoolError):
    """One batch is larger than the whole buffer lane; retrying cannot help."""

class InvalidDataError(SpoolError):
    """The bytes were not a valid OTLP export request of the signal; nothing was kept."""

class FlushError(SpoolError):
    """A flush or shutdown did not complete in time (or the spool is shut down)."""

class ServeError(SpoolError):
    """The OTLP endpoints could not start (address in use, already serving...)."""

class ForkedProcessError(SpoolError):
    """The Spool was created in another process: a forked child cannot use it."""

class ReadError(SpoolError):
    """The files of a signal could not be read."""

class ArrowStream:
    """Record batches of finalized files, exported through the Arrow C stream interface."""

    @property
    def num_rows(self) -> int: ...
    @property
    def num_batches(self) -> int: ...
    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """An ``arrow_array_stream`` PyCapsule over the batches (a new stream per call)."""

class NativeSpool:
    """The facade's Spool and its tokio runtime; wrapped by ``otlp_spool.Spool``."""

    def __init__(
        self,
        output_dir: str | os.PathLike[str],
        config_file: str | os.PathLike[str] | None = None,
        layers: list[str] = ...,
        worker_threads: int = 2,
    ) -> None: ...
    def export(self, signal: str, data: bytes) -> int:
        """Hands one OTLP export request (protobuf) to the spool; returns the items taken."""
    def export_spans(self, spans: object) -> int | str:
        """Encodes the SDK's spans natively and hands them over; returns the spans taken, or
        (nothing handed over) why the batch needs the official encoder."""
    def flush(self, timeout: float = 30.0) -> None: ...
    def shutdown(self, timeout: float = 30.0) -> None: ...
    def serve(self, grpc_addr: str | None = None, http_addr: str | None = None) -> tuple[str, str]: ...
    def read(self, signal: str) -> ArrowStream: ...
    @property
    def output_dir(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    @property
    def pid(self) -> int: ...
    def metrics_text(self) -> str: ...
    def _pause_writers(self, paused: bool) -> None: ...

def read_dir(dir: str | os.PathLike[str], signal: str) -> ArrowStream: ...
def run_cli(argv: list[str]) -> int: ...
def encode_spans(spans: object) -> bytes:
    """The bytes of the official ``encode_spans(spans).SerializeToString()``, made natively;
    ``TypeError`` (with the reason) for a batch the native encoder does not cover."""
