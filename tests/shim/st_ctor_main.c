/* Prints the result of libstctor's constructor (preloaded), then does one more transfer in
 * main to show the process still works after it. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "st.h"

int main(void)
{
	const char *res = dlsym(RTLD_DEFAULT, "st_ctor_result");
	int port, l, c, s;
	static char a[MIB], b[MIB];

	st_prog = "st_ctor_main";
	if (!res)
		st_die("libstctor is not loaded");
	l = st_listen(NULL, &port, 0);
	c = st_connect(port);
	if ((s = accept(l, NULL, NULL)) < 0)
		st_die_errno("accept");
	st_pattern(a, sizeof(a), 9, 0);
	if (send(c, a, 100000, 0) != 100000 || recv(s, b, 100000, MSG_WAITALL) != 100000 ||
	    memcmp(a, b, 100000))
		st_die("transfer in main failed");
	printf("%s main=ok\n", res);
	return 0;
}
