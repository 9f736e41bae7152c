/* Every configuration key, environment name and default, in one place. */
#ifndef FAASFLOW_DEFAULTS_H
#define FAASFLOW_DEFAULTS_H

#define FF_DEFAULT_CONFIG_FILE   "/etc/faasflow/faasflow.conf"
#define FF_ENV_PREFIX            "FAASFLOW_"
#define FF_ENV_CONFIG            "FAASFLOW_CONFIG"   /* path of the config file */
#define FF_ENV_LOG               "FAASFLOW_LOG"      /* shim log file (default stderr) */
#define FF_ENV_NAME              "FAASFLOW_NAME"     /* optional endpoint name of a listener */
#define FF_ENV_TRACE             "FAASFLOW_TRACE"    /* shim diagnostics with backtraces */
#define FF_ENV_FDSTATE           "FAASFLOW_FDSTATE"  /* per-fd state handed across exec */

#define FF_DEFAULT_ENABLED       1
#define FF_DEFAULT_SHM_SIZE      (1ULL << 30)               /* 1 GiB */
#define FF_DEFAULT_SHM_FILE_PATH "/tmp/faasflow_shm"
#define FF_DEFAULT_SOCKET_DIR    "/tmp"
#define FF_DEFAULT_SLOT_SIZE     (1ULL << 20)               /* 1 MiB */
#define FF_DEFAULT_THRESHOLD     (64ULL << 10)   /* 64 KiB: THRESHOLD = auto before (or without) a measurement */
#define FF_DEFAULT_PEERS         "*"
#define FF_DEFAULT_QUOTA         64                         /* slots per process */
#define FF_DEFAULT_LEASE_BATCH   8                          /* slots per lease request */
#define FF_DEFAULT_SPIN_WAIT_US  400                        /* longest poll before a sleep */
#define FF_SPIN_WAIT_US_MAX      10000
#define FF_DEFAULT_FILE_MODE     0600
#define FF_DEFAULT_SOCKET_MODE   0600
#define FF_DEFAULT_TENANT        "default"

/* The coordinator's control socket is "<SOCKET_DIR>/faasflow_container_<TENANT>.sock":
 * the deployment guide's check `ls -la /tmp/faasflow_container_*.sock` lists one socket per
 * tenant region served on this host. */
#define FF_SOCKET_PREFIX         "faasflow_container_"
#define FF_SOCKET_SUFFIX         ".sock"

#define FF_SIZE_MIN_SLOT         (4ULL << 10)
#define FF_SIZE_MAX_SLOT         (256ULL << 20)
#define FF_SIZE_MIN_SHM          (1ULL << 20)
#define FF_MAX_PEERS             64
#define FF_MAX_IDS               32
#define FF_NAME_MAX              64

#endif
