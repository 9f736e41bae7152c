#!/bin/sh
# faasflow-shm container entrypoint: runs the image's command with the shim preloaded.
#
#   ENTRYPOINT ["/usr/local/bin/faasflow-entrypoint"]          (image without an entrypoint)
#   ENTRYPOINT ["/usr/local/bin/faasflow-entrypoint", "/docker-entrypoint.sh"]   (wrap one)
#
# The shim is built for one C library: FAASFLOW_SHIM names the glibc one (default
# /usr/local/lib/libfaasflow_intercept.so), FAASFLOW_SHIM_MUSL the musl one (default
# /usr/local/lib/libfaasflow_intercept-musl.so). A musl image (Alpine: musl's loader
# /lib/ld-musl-*.so.1 and no glibc loader) gets the musl shim, any other image the glibc
# one; FAASFLOW_LIBC=glibc|musl overrides the guess (e.g. Alpine with gcompat running glibc
# programs). The shim is added to LD_PRELOAD (after anything already in it); when the one
# the image needs is not there, the command runs unchanged, over plain TCP, and one warning
# goes to stderr (the other flavour is never preloaded: the loader would refuse to start
# the program). Every other setting (FAASFLOW_CONFIG, FAASFLOW_SHM_FILE_PATH,
# FAASFLOW_SOCKET_DIR ...) passes through.
set -eu

glibc_shim=${FAASFLOW_SHIM:-/usr/local/lib/libfaasflow_intercept.so}
musl_shim=${FAASFLOW_SHIM_MUSL:-/usr/local/lib/libfaasflow_intercept-musl.so}

if [ "$#" -eq 0 ]; then
	echo "faasflow entrypoint: no command given (usage: entrypoint.sh CMD [ARG...])" >&2
	exit 2
fi

# The image's C library: musl when musl's loader is there and glibc's is not.
libc=${FAASFLOW_LIBC:-}
if [ -z "$libc" ]; then
	libc=glibc
	for l in /lib/ld-musl-*.so.1; do
		if [ -e "$l" ]; then libc=musl; fi
	done
	if [ "$libc" = musl ]; then
		for l in /lib64/ld-linux*.so.* /lib/ld-linux*.so.*; do
			if [ -e "$l" ]; then libc=glibc; fi
		done
	fi
fi
case "$libc" in
glibc) shim=$glibc_shim ;;
musl) shim=$musl_shim ;;
*)
	echo "faasflow entrypoint: FAASFLOW_LIBC=$libc: expected glibc or musl" >&2
	exit 2
	;;
esac

if [ -f "$shim" ] && [ -r "$shim" ]; then
	case ":${LD_PRELOAD:-}:" in
	*":$shim:"*) ;;
	"::") LD_PRELOAD=$shim ;;
	*) LD_PRELOAD="$LD_PRELOAD:$shim" ;;
	esac
	export LD_PRELOAD
elif [ "$libc" = musl ]; then
	echo "faasflow entrypoint: musl image and shim $shim not found (a glibc shim cannot load here): running $1 without it (plain TCP)" >&2
else
	echo "faasflow entrypoint: shim $shim not found: running $1 without it (plain TCP)" >&2
fi
exec "$@"
