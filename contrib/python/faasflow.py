"""faasflow-shm zero-copy API for Python (ctypes, no build step).

Under the shim (LD_PRELOAD=libfaasflow_intercept.so) a FaaSFlow function can hand a payload to
the next function without copying it:

    import faasflow, socket
    buf = faasflow.alloc(len(data))      # memory inside the shared region
    buf.view[:] = data                   # or write into buf.view directly (numpy.frombuffer)
    sock.sendall(buf.view)               # moves no bytes: the reader gets the slot
    buf.free()                           # read-only after sending; free when done

    with faasflow.borrow(sock) as view:  # the next payload, mapped in place
        process(view)                    # a memoryview; released when the block ends

Without the shim or the region everything still works (ordinary memory and copies).
See faasflow.h for the rules.
"""
import ctypes
import os

__all__ = ["available", "alloc", "Buffer", "borrow", "Borrowed", "fd_status"]

_lib = None


def _load():
    global _lib
    if _lib is not None:
        return _lib
    names = [None] + [n for n in (os.environ.get("FAASFLOW_LIB"), "libfaasflow_intercept.so") if n]
    for name in names:
        try:
            lib = ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL)
            lib.faasflow_alloc  # noqa: B018 - raises AttributeError when absent
        except (OSError, AttributeError):
            continue
        lib.faasflow_alloc.restype = ctypes.c_void_p
        lib.faasflow_alloc.argtypes = [ctypes.c_size_t]
        lib.faasflow_free.restype = ctypes.c_int
        lib.faasflow_free.argtypes = [ctypes.c_void_p]
        lib.faasflow_in_region.restype = ctypes.c_int
        lib.faasflow_in_region.argtypes = [ctypes.c_void_p]
        lib.faasflow_recv_borrow.restype = ctypes.c_int
        lib.faasflow_recv_borrow.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_void_p),
                                             ctypes.POINTER(ctypes.c_size_t)]
        lib.faasflow_recv_release.restype = ctypes.c_int
        lib.faasflow_recv_release.argtypes = [ctypes.c_void_p]
        lib.faasflow_fd_status.restype = ctypes.c_int
        lib.faasflow_fd_status.argtypes = [ctypes.c_int]
        _lib = lib
        return lib
    _lib = False
    return _lib


def available():
    """True when the faasflow library is loaded (preloaded or found by name)."""
    return bool(_load())


def _fileno(sock):
    return sock if isinstance(sock, int) else sock.fileno()


def fd_status(sock):
    """Bit 1: sends may go through the region; bit 2: receives are framed by a shim peer."""
    lib = _load()
    return lib.faasflow_fd_status(_fileno(sock)) if lib else 0


class Buffer:
    """n bytes, inside the region when possible. `view` is a writable memoryview."""

    def __init__(self, n):
        lib = _load()
        self._ptr = None
        if lib:
            ptr = lib.faasflow_alloc(n)
            if not ptr:
                raise MemoryError("faasflow_alloc(%d) failed" % n)
            self._ptr = ptr
            self.view = memoryview((ctypes.c_char * n).from_address(ptr)).cast("B")
            self.in_region = bool(lib.faasflow_in_region(ptr))
        else:
            self.view = memoryview(bytearray(n))
            self.in_region = False

    def free(self):
        """Give the buffer back. Do not use `view` afterwards."""
        if self._ptr is not None:
            self.view.release()
            if _load().faasflow_free(self._ptr) != 0:
                raise ValueError("faasflow_free refused the buffer (freed twice?)")
            self._ptr = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.free()


def alloc(n):
    return Buffer(n)


class Borrowed:
    """The next payload of a socket, in place. `view` is a read-only memoryview; an empty view
    means end of stream."""

    def __init__(self, sock):
        lib = _load()
        self._ptr = None
        if not lib:
            data = sock.recv(1 << 20)
            self.view = memoryview(data)
            return
        ptr, n = ctypes.c_void_p(), ctypes.c_size_t()
        r = lib.faasflow_recv_borrow(_fileno(sock), ctypes.byref(ptr), ctypes.byref(n))
        if r < 0:
            err = ctypes.get_errno()
            raise OSError(err, "faasflow_recv_borrow failed")
        if r == 0:
            self.view = memoryview(b"")
            return
        self._ptr = ptr.value
        self.view = memoryview((ctypes.c_char * n.value).from_address(ptr.value)).cast("B").toreadonly()

    def release(self):
        if self._ptr is not None:
            self.view.release()
            if _load().faasflow_recv_release(self._ptr) != 0:
                raise ValueError("faasflow_recv_release refused the pointer (released twice?)")
            self._ptr = None

    def __enter__(self):
        return self.view

    def __exit__(self, *exc):
        self.release()


def borrow(sock):
    return Borrowed(sock)
