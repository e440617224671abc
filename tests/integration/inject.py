"""Make a live process run one system call of the test's choosing
(x86-64 Linux, root), to see what its sandbox does with it: the
process's own seccomp filter and Landlock rules answer, not a model of
them.

The process is attached with ptrace while it waits in a system call (its
instruction pointer is just past a `syscall` instruction); its registers
are pointed back at that instruction with the call's number and
arguments, one single-step runs it, and the registers are put back.
Strings the call needs are written below the stack pointer, past the red
zone.

    r = syscall(pid, SYS["openat"], AT_FDCWD, b"/etc/passwd", os.O_RDONLY)
    r: the result (a negative errno), or Killed(signal) if the call
    killed the process."""

import ctypes
import os
import platform
import struct
import time

PTRACE_PEEKDATA = 2
PTRACE_POKEDATA = 5
PTRACE_GETREGS = 12
PTRACE_SETREGS = 13
PTRACE_ATTACH = 16
PTRACE_DETACH = 17
PTRACE_CONT = 7
PTRACE_SINGLESTEP = 9
WALL = 0x40000000

AT_FDCWD = -100
# x86-64 system call numbers (asm/unistd_64.h).
SYS = {"close": 3, "socket": 41, "execve": 59, "openat": 257,
       "unlinkat": 263}

# struct user_regs_struct (sys/user.h), x86-64.
REGS = ("r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi "
        "orig_rax rip cs eflags rsp ss fs_base gs_base ds es fs gs").split()

_libc = ctypes.CDLL(None, use_errno=True)
_libc.ptrace.restype = ctypes.c_long
_libc.ptrace.argtypes = (ctypes.c_long, ctypes.c_long, ctypes.c_void_p,
                         ctypes.c_void_p)


class InjectError(Exception):
    pass


class Killed:
    def __init__(self, sig):
        self.signal = sig

    def __repr__(self):
        return "Killed(%d)" % self.signal


def supported():
    return platform.machine() == "x86_64" and os.geteuid() == 0


class _Regs(ctypes.Structure):
    _fields_ = [(n, ctypes.c_ulonglong) for n in REGS]


def _ptrace(req, pid, addr=0, data=0):
    ctypes.set_errno(0)
    r = _libc.ptrace(req, pid, ctypes.c_void_p(addr), ctypes.c_void_p(data))
    e = ctypes.get_errno()
    if r == -1 and e != 0:
        raise InjectError("ptrace(%d, %d): %s" % (req, pid, os.strerror(e)))
    return r


def _wait(pid):
    _, st = os.waitpid(pid, WALL)
    return st


def _poke(pid, addr, data):
    data += b"\0" * (-len(data) % 8)
    for i in range(0, len(data), 8):
        word = struct.unpack("<q", data[i:i + 8])[0]
        _ptrace(PTRACE_POKEDATA, pid, addr + i, word & (2 ** 64 - 1))


def _peek(pid, addr):
    return _ptrace(PTRACE_PEEKDATA, pid, addr) & (2 ** 64 - 1)


def _attach(pid, tries):
    """Attached and stopped inside a system call: its saved registers."""
    for _ in range(tries):
        _ptrace(PTRACE_ATTACH, pid)
        st = _wait(pid)
        if not os.WIFSTOPPED(st):
            raise InjectError("%d did not stop (%#x)" % (pid, st))
        regs = _Regs()
        _ptrace(PTRACE_GETREGS, pid, 0, ctypes.addressof(regs))
        in_call = regs.orig_rax < 2 ** 63
        if in_call and _peek(pid, regs.rip - 2) & 0xffff == 0x050f:
            return regs
        # Running, not waiting: let it reach its next wait.
        _ptrace(PTRACE_DETACH, pid, 0, 0)
        time.sleep(0.05)
    raise InjectError("%d never stopped in a system call" % pid)


def syscall(pid, nr, *args, tries=100):
    """Run system call nr with args (ints, or bytes written to the
    process's stack and passed by address) in process pid."""
    saved = _attach(pid, tries)
    regs = _Regs.from_buffer_copy(saved)
    # Below the red zone, far enough that nothing live is overwritten.
    top = (saved.rsp - 4096) & ~15
    argv = []
    for a in args:
        if isinstance(a, bytes):
            top -= (len(a) + 16) & ~7
            _poke(pid, top, a + b"\0")
            argv.append(top)
        else:
            argv.append(a & (2 ** 64 - 1))
    for name, v in zip(("rdi", "rsi", "rdx", "r10", "r8", "r9"), argv):
        setattr(regs, name, v)
    regs.rax = nr
    regs.rip = saved.rip - 2
    regs.orig_rax = 2 ** 64 - 1     # no restart of the interrupted call
    _ptrace(PTRACE_SETREGS, pid, 0, ctypes.addressof(regs))
    # Signal 0: the SIGSTOP of the attach is not delivered.
    _ptrace(PTRACE_SINGLESTEP, pid, 0, 0)
    st = _wait(pid)
    # A fatal signal the call raised may stop it first: deliver it.
    while os.WIFSTOPPED(st) and os.WSTOPSIG(st) != 5:     # SIGTRAP
        _ptrace(PTRACE_CONT, pid, 0, os.WSTOPSIG(st))
        st = _wait(pid)
    if os.WIFSIGNALED(st):
        return Killed(os.WTERMSIG(st))
    if not os.WIFSTOPPED(st):
        raise InjectError("%d: unexpected status %#x" % (pid, st))
    out = _Regs()
    _ptrace(PTRACE_GETREGS, pid, 0, ctypes.addressof(out))
    _ptrace(PTRACE_SETREGS, pid, 0, ctypes.addressof(saved))
    _ptrace(PTRACE_DETACH, pid, 0, 0)
    r = out.rax
    return r - 2 ** 64 if r >= 2 ** 63 else r
