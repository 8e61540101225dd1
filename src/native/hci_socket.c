/*
 * hcikit's one native addon: a Linux HCI user-channel socket, nothing more.
 *
 * The Linux kernel exposes each controller (hciN) through AF_BLUETOOTH/BTPROTO_HCI sockets;
 * binding one to HCI_CHANNEL_USER gives a program exclusive use of the controller, carrying
 * the HCI packets of Core v5.4 Vol 4 Part E 5.4 each preceded by its H4 packet type indicator
 * (Vol 4 Part A 2), one packet per read() and per write(). Everything else (framing, flow
 * control, error hints) lives in TypeScript: src/transports/hci-socket.ts and src/native/load.ts.
 *
 * Exports:
 *   open(index)            -> handle        socket + bind(HCI_CHANNEL_USER, hciN); throws errno
 *   start(handle, onPacket(Buffer), onError(code, errno))   reads driven by libuv (uv_poll)
 *   write(handle, Uint8Array) -> bytes      one packet, type byte first; throws errno
 *   close(handle)                          idempotent; stops the poll, closes the fd
 *   listDevices()          -> [{ index, name, flags, up }]   HCIGETDEVLIST/HCIGETDEVINFO
 *
 * Errors thrown carry `code` (EPERM, EBUSY, ...), `errno` and `syscall`, like Node's own.
 * The Bluetooth constants and structs are written out here (values from the kernel's
 * include/net/bluetooth/hci.h and hci_sock.h ABI) so that no libbluetooth headers are needed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <node_api.h>
#include <uv.h>

#ifndef AF_BLUETOOTH
#define AF_BLUETOOTH 31
#endif
#define HK_BTPROTO_HCI 1
#define HK_HCI_CHANNEL_USER 1
#define HK_HCI_MAX_DEV 16
#define HK_HCIGETDEVLIST _IOR('H', 210, int)
#define HK_HCIGETDEVINFO _IOR('H', 211, int)
#define HK_HCI_UP 0
/* type byte + ACL/ISO header + the largest payload a 16-bit length allows */
#define HK_READ_MAX (1 + 4 + 65535)

struct hk_sockaddr_hci {
  sa_family_t hci_family;
  unsigned short hci_dev;
  unsigned short hci_channel;
};

struct hk_dev_req {
  uint16_t dev_id;
  uint32_t dev_opt;
};

struct hk_dev_list_req {
  uint16_t dev_num;
  struct hk_dev_req dev_req[HK_HCI_MAX_DEV];
};

struct hk_bdaddr {
  uint8_t b[6];
} __attribute__((packed));

struct hk_dev_stats {
  uint32_t err_rx, err_tx, cmd_tx, evt_rx, acl_tx, acl_rx, sco_tx, sco_rx, byte_rx, byte_tx;
};

struct hk_dev_info {
  uint16_t dev_id;
  char name[8];
  struct hk_bdaddr bdaddr;
  uint32_t flags;
  uint8_t type;
  uint8_t features[8];
  uint32_t pkt_type;
  uint32_t link_policy;
  uint32_t link_mode;
  uint16_t acl_mtu;
  uint16_t acl_pkts;
  uint16_t sco_mtu;
  uint16_t sco_pkts;
  struct hk_dev_stats stat;
};

typedef struct {
  int fd;
  int polling;
  uv_poll_t *poll;
  napi_env env;
  napi_ref on_packet;
  napi_ref on_error;
  napi_async_context async;
} hk_socket;

static uint8_t read_buf[HK_READ_MAX];

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, NULL, "hci_socket: N-API call failed: " #call); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static const char *errno_code(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case EBUSY: return "EBUSY";
    case ENODEV: return "ENODEV";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case EALREADY: return "EALREADY";
    case ERFKILL: return "ERFKILL";
    case EINVAL: return "EINVAL";
    case EIO: return "EIO";
    case ENETDOWN: return "ENETDOWN";
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case EMSGSIZE: return "EMSGSIZE";
    case ENOMEM: return "ENOMEM";
    case ENOBUFS: return "ENOBUFS";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EPIPE: return "EPIPE";
    case ENXIO: return "ENXIO";
    default: return "EUNKNOWN";
  }
}

static napi_value make_errno_error(napi_env env, int e, const char *syscall) {
  napi_value msg, err, code, num, sys;
  char text[160];
  snprintf(text, sizeof text, "%s %s: %s", syscall, errno_code(e), strerror(e));
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, errno_code(e), NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, NULL, msg, &err);
  napi_set_named_property(env, err, "code", code);
  napi_create_int32(env, -e, &num);
  napi_set_named_property(env, err, "errno", num);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys);
  napi_set_named_property(env, err, "syscall", sys);
  return err;
}

static napi_value throw_errno(napi_env env, int e, const char *syscall) {
  napi_throw(env, make_errno_error(env, e, syscall));
  return NULL;
}

static void on_poll_closed(uv_handle_t *h) { free(h); }

static void stop_and_close(hk_socket *s) {
  if (s->poll) {
    uv_poll_stop(s->poll);
    uv_close((uv_handle_t *)s->poll, on_poll_closed);
    s->poll = NULL;
  }
  s->polling = 0;
  if (s->fd >= 0) {
    close(s->fd);
    s->fd = -1;
  }
  if (s->on_packet) {
    napi_delete_reference(s->env, s->on_packet);
    s->on_packet = NULL;
  }
  if (s->on_error) {
    napi_delete_reference(s->env, s->on_error);
    s->on_error = NULL;
  }
  if (s->async) {
    napi_async_destroy(s->env, s->async);
    s->async = NULL;
  }
}

static void finalize_socket(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  hk_socket *s = data;
  /* References are gone with the env at this point; only release OS resources. */
  if (s->poll) {
    uv_poll_stop(s->poll);
    uv_close((uv_handle_t *)s->poll, on_poll_closed);
    s->poll = NULL;
  }
  if (s->fd >= 0) close(s->fd);
  free(s);
}

static hk_socket *get_socket(napi_env env, napi_value v) {
  void *data = NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "hci_socket: not a socket handle");
    return NULL;
  }
  return data;
}

static void call_js(hk_socket *s, napi_ref fn_ref, size_t argc, napi_value *argv) {
  napi_env env = s->env;
  napi_value fn, recv, result;
  if (!fn_ref || napi_get_reference_value(env, fn_ref, &fn) != napi_ok || fn == NULL) return;
  napi_get_undefined(env, &recv);
  if (napi_make_callback(env, s->async, recv, fn, argc, argv, &result) == napi_pending_exception) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  hk_socket *s = handle->data;
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  if (status < 0) {
    /* libuv reports POLLERR as EBADF: the socket's own error (EPIPE when the adapter went
       away) says more. */
    napi_value argv[2];
    int e = 0;
    socklen_t len = sizeof e;
    if (s->fd < 0 || getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0 || e == 0) e = -status;
    uv_poll_stop(s->poll);
    s->polling = 0;
    napi_create_string_utf8(env, errno_code(e), NAPI_AUTO_LENGTH, &argv[0]);
    napi_create_int32(env, -e, &argv[1]);
    call_js(s, s->on_error, 2, argv);
  } else if (events & UV_READABLE) {
    /* Drain what is queued; each read() returns exactly one packet. */
    while (s->fd >= 0 && s->polling) {
      ssize_t n = read(s->fd, read_buf, sizeof read_buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        napi_value argv[2];
        int e = errno;
        uv_poll_stop(s->poll);
        s->polling = 0;
        napi_create_string_utf8(env, errno_code(e), NAPI_AUTO_LENGTH, &argv[0]);
        napi_create_int32(env, -e, &argv[1]);
        call_js(s, s->on_error, 2, argv);
        break;
      }
      if (n == 0) break;
      napi_value buf;
      void *copy = NULL;
      if (napi_create_buffer_copy(env, (size_t)n, read_buf, &copy, &buf) != napi_ok) break;
      call_js(s, s->on_packet, 1, &buf);
    }
  }
  napi_close_handle_scope(env, scope);
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t index;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_uint32(env, argv[0], &index) != napi_ok || index > 0xfffe) {
    napi_throw_type_error(env, NULL, "hci_socket.open(index): index must be an adapter number");
    return NULL;
  }
  int fd = socket(AF_BLUETOOTH, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, HK_BTPROTO_HCI);
  if (fd < 0) return throw_errno(env, errno, "socket");
  struct hk_sockaddr_hci addr;
  memset(&addr, 0, sizeof addr);
  addr.hci_family = AF_BLUETOOTH;
  addr.hci_dev = (unsigned short)index;
  addr.hci_channel = HK_HCI_CHANNEL_USER;
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, e, "bind");
  }
  hk_socket *s = calloc(1, sizeof *s);
  if (!s) {
    close(fd);
    return throw_errno(env, ENOMEM, "calloc");
  }
  s->fd = fd;
  s->env = env;
  napi_value handle;
  if (napi_create_external(env, s, finalize_socket, NULL, &handle) != napi_ok) {
    close(fd);
    free(s);
    napi_throw_error(env, NULL, "hci_socket: cannot create the handle");
    return NULL;
  }
  return handle;
}

static napi_value js_start(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], name;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "hci_socket.start(handle, onPacket, onError)");
    return NULL;
  }
  hk_socket *s = get_socket(env, argv[0]);
  if (!s) return NULL;
  if (s->fd < 0) return throw_errno(env, EBADF, "start");
  if (s->poll) return NULL;
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  CHECK(napi_create_reference(env, argv[1], 1, &s->on_packet));
  CHECK(napi_create_reference(env, argv[2], 1, &s->on_error));
  CHECK(napi_create_string_utf8(env, "hcikit:hci-socket", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &s->async));
  s->poll = malloc(sizeof *s->poll);
  if (!s->poll) return throw_errno(env, ENOMEM, "malloc");
  int r = uv_poll_init(loop, s->poll, s->fd);
  if (r < 0) {
    free(s->poll);
    s->poll = NULL;
    return throw_errno(env, -r, "uv_poll_init");
  }
  s->poll->data = s;
  r = uv_poll_start(s->poll, UV_READABLE, on_readable);
  if (r < 0) return throw_errno(env, -r, "uv_poll_start");
  s->polling = 1;
  return NULL;
}

static napi_value js_write(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "hci_socket.write(handle, bytes)");
    return NULL;
  }
  hk_socket *s = get_socket(env, argv[0]);
  if (!s) return NULL;
  if (s->fd < 0) return throw_errno(env, EBADF, "write");
  napi_typedarray_type type;
  size_t length, offset;
  void *data;
  napi_value ab;
  if (napi_get_typedarray_info(env, argv[1], &type, &length, &data, &ab, &offset) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "hci_socket.write: bytes must be a Uint8Array");
    return NULL;
  }
  ssize_t n;
  do {
    n = write(s->fd, data, length);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, errno, "write");
  CHECK(napi_create_int64(env, n, &result));
  return result;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return NULL;
  hk_socket *s = get_socket(env, argv[0]);
  if (!s) return NULL;
  stop_and_close(s);
  return NULL;
}

static napi_value js_list_devices(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = socket(AF_BLUETOOTH, SOCK_RAW | SOCK_CLOEXEC, HK_BTPROTO_HCI);
  if (fd < 0) return throw_errno(env, errno, "socket");
  struct hk_dev_list_req list;
  memset(&list, 0, sizeof list);
  list.dev_num = HK_HCI_MAX_DEV;
  if (ioctl(fd, HK_HCIGETDEVLIST, &list) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, e, "ioctl(HCIGETDEVLIST)");
  }
  napi_value arr;
  if (napi_create_array(env, &arr) != napi_ok) {
    close(fd);
    return NULL;
  }
  uint32_t out = 0;
  for (uint16_t i = 0; i < list.dev_num && i < HK_HCI_MAX_DEV; i++) {
    struct hk_dev_info di;
    memset(&di, 0, sizeof di);
    di.dev_id = list.dev_req[i].dev_id;
    napi_value obj, v;
    napi_create_object(env, &obj);
    napi_create_uint32(env, di.dev_id, &v);
    napi_set_named_property(env, obj, "index", v);
    if (ioctl(fd, HK_HCIGETDEVINFO, &di) < 0) {
      /* Listed but not describable (gone meanwhile, or in user-channel use): say so. */
      napi_create_string_utf8(env, errno_code(errno), NAPI_AUTO_LENGTH, &v);
      napi_set_named_property(env, obj, "error", v);
    } else {
      char name[9];
      memcpy(name, di.name, 8);
      name[8] = 0;
      napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &v);
      napi_set_named_property(env, obj, "name", v);
      napi_create_uint32(env, di.flags, &v);
      napi_set_named_property(env, obj, "flags", v);
      napi_get_boolean(env, (di.flags >> HK_HCI_UP) & 1, &v);
      napi_set_named_property(env, obj, "up", v);
      char addr[18];
      snprintf(addr, sizeof addr, "%02X:%02X:%02X:%02X:%02X:%02X", di.bdaddr.b[5], di.bdaddr.b[4], di.bdaddr.b[3],
               di.bdaddr.b[2], di.bdaddr.b[1], di.bdaddr.b[0]);
      napi_create_string_utf8(env, addr, NAPI_AUTO_LENGTH, &v);
      napi_set_named_property(env, obj, "address", v);
    }
    napi_set_element(env, arr, out++, obj);
  }
  close(fd);
  return arr;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"start", NULL, js_start, NULL, NULL, NULL, napi_enumerable, NULL},
      {"write", NULL, js_write, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"listDevices", NULL, js_list_devices, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
