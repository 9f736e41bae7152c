#!/bin/sh
# faasflow-shm container entrypoint: runs the image's command with the shim preloaded.
#
#   ENTRYPOINT ["/usr/local/bin/faasflow-entrypoint"]          (image without an entrypoint)
#   ENTRYPOINT ["/usr/local/bin/faasflow-entrypoint", "/docker-entrypoint.sh"]   (wrap one)
#
# FAASFLOW_SHIM names the shim inside the container (default below). When it is there,
# it is added to LD_PRELOAD (after anything already in it); when it is not, the command
# runs unchanged, over plain TCP, and one warning goes to stderr. Every other setting
# (FAASFLOW_CONFIG, FAASFLOW_SHM_FILE_PATH, FAASFLOW_SOCKET_DIR ...) passes through.
set -eu

shim=${FAASFLOW_SHIM:-/usr/local/lib/libfaasflow_intercept.so}

if [ "$#" -eq 0 ]; then
	echo "faasflow entrypoint: no command given (usage: entrypoint.sh CMD [ARG...])" >&2
	exit 2
fi

if [ -f "$shim" ] && [ -r "$shim" ]; then
	case ":${LD_PRELOAD:-}:" in
	*":$shim:"*) ;;
	"::") LD_PRELOAD=$shim ;;
	*) LD_PRELOAD="$LD_PRELOAD:$shim" ;;
	esac
	export LD_PRELOAD
else
	echo "faasflow entrypoint: shim $shim not found: running $1 without it (plain TCP)" >&2
fi
exec "$@"
