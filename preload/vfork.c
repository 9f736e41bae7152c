/* vfork() as cheap as without the shim. A vfork child runs in its parent's memory, on the
 * calling thread's stack and thread-local storage, until it execs or exits; the parent thread
 * waits meanwhile. So the child must not touch the shim's shared state (the fd table, the
 * control connection): every wrapper passes straight through in it (ff_in_vfork_child). What
 * it does to its descriptors before exec (dup2 of a connection onto stdin, closing others) is
 * noted in a small per-thread list, and the exec hand-over reads the fd table through it, so
 * a connection handed to the new program keeps its framing as after fork.
 *
 * The wrapper is a jump: a C function that called vfork would return twice from one stack
 * frame (the child's return would clobber what the parent returns through). vfork enters
 * ff_vfork_prepare, which marks this thread and returns the real vfork's address, and jumps
 * there with the caller's return address in place. The parent thread's first wrapper call
 * after the child is gone clears the mark (its pid is the parent's). */
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"
#include "sys.h"

__thread int ff_vfork_state __attribute__((tls_model("initial-exec")));
static __thread pid_t vf_parent __attribute__((tls_model("initial-exec")));

#define VF_MAX 32
struct vf_note {
	int lo, hi;                 /* fds lo..hi now refer to c (NULL: closed, or not ours) */
	struct ff_conn *c;
};
static __thread struct vf_note vf_notes[VF_MAX] __attribute__((tls_model("initial-exec")));
static __thread int vf_n __attribute__((tls_model("initial-exec")));
static __thread int vf_top __attribute__((tls_model("initial-exec")));

bool ff_vfork_child_slow(void)
{
	if ((pid_t)ff_sys6(SYS_getpid, 0, 0, 0, 0, 0, 0) != vf_parent)
		return true;
	ff_vfork_state = 0;          /* the parent, back: its child has exec'ed or exited */
	return false;
}

void *ff_vfork_prepare(void);      /* called from the vfork entry below only */

void *ff_vfork_prepare(void)
{
	ff_init();
	if (!ff_real.vfork)
		return (void *)ff_real.fork;
	vf_parent = (pid_t)ff_sys6(SYS_getpid, 0, 0, 0, 0, 0, 0);
	vf_n = 0;
	vf_top = -1;
	ff_vfork_state = 1;
	return (void *)ff_real.vfork;
}

void ff_vfork_note(int lo, int hi, struct ff_conn *c)
{
	if (lo < 0 || hi < lo)
		return;
	if (vf_n == VF_MAX) {
		/* More than the list holds: older notes merge into "closed" over their span. */
		vf_notes[0].lo = vf_notes[0].lo < vf_notes[1].lo ? vf_notes[0].lo : vf_notes[1].lo;
		vf_notes[0].hi = vf_notes[0].hi > vf_notes[1].hi ? vf_notes[0].hi : vf_notes[1].hi;
		vf_notes[0].c = NULL;
		for (int i = 1; i < VF_MAX - 1; i++)
			vf_notes[i] = vf_notes[i + 1];
		vf_n--;
	}
	vf_notes[vf_n++] = (struct vf_note){ .lo = lo, .hi = hi, .c = c };
	if (c && hi > vf_top)
		vf_top = hi;
}

struct ff_conn *ff_vfork_peek(int fd)
{
	if (!ff_in_vfork_child())
		return ff_fd_peek(fd);
	for (int i = vf_n - 1; i >= 0; i--)
		if (fd >= vf_notes[i].lo && fd <= vf_notes[i].hi)
			return vf_notes[i].c;
	return ff_fd_peek(fd);
}

int ff_vfork_fd_max(void)
{
	int hi = ff_fdtab_max();

	return ff_in_vfork_child() && vf_top > hi ? vf_top : hi;
}

#if defined(__x86_64__)
__asm__(".text\n"
	".globl vfork\n"
	".type vfork, @function\n"
	"vfork:\n"
	"	.cfi_startproc\n"
	"	endbr64\n"
	"	subq $8, %rsp\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	call ff_vfork_prepare\n"
	"	addq $8, %rsp\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	jmp *%rax\n"
	"	.cfi_endproc\n"
	".size vfork, .-vfork\n");
#else
/* Elsewhere: a fork, which keeps the shim's state right at the cost of copying the page
 * tables. */
pid_t vfork(void)
{
	ff_init();
	return ff_real.fork();
}
#endif
