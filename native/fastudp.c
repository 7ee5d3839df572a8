// fastudp: UDP sockets read with recvmmsg and written with sendmmsg, for Node.
//
// Why: profiles of the resolver's cache-hit path and of the load generator show
// that Node's dgram costs more per datagram than everything our own JS does with
// it (a MakeCallback, an rinfo object and a Buffer per datagram received; a send
// request and an address lookup per datagram sent). Here one readable event reads
// up to BATCH datagrams with one syscall into a slab shared with JS, JS handles
// the whole batch in one call and queues its replies into a second slab, and they
// leave with one sendmmsg. Measured in bench/ (see native/README.md).
//
// Event loop: the socket is watched with a uv_poll handle on Node's own loop, so
// everything runs on the JS thread; there are no threads or locks here.
//
// Shared memory layout (all little-endian Int32 in the meta arrays):
//   in slab   vlen slots of slotBytes (both given to start()); datagram i is at
//             i * slotBytes
//   in meta   per datagram: [length, port, family, a0, a1, a2, a3]
//             length is the datagram's real length (MSG_TRUNC), which may exceed
//             slotBytes: only slotBytes were kept, and the reader must treat it as cut.
//             IPv4: a0 holds the address (network order read as big-endian);
//             IPv6: a0..a3 hold its four 32-bit words, big-endian.
//   out slab  replies, packed
//   out meta  per datagram: [slot, offset, length, port, a0, a1, a2, a3]
//             slot >= 0 replies to the sender of in-slot `slot`; slot == -2 sends
//             to port and a0..a3 (the address in the in-meta form, this socket's
//             family); slot == -1 sends on a connected socket. After a send, an
//             entry that did not leave has its length set to -errno.

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <fcntl.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define BATCH 64
#define SLOT 4096  // default slotBytes (JS side); a DNS query over UDP fits
#define META_IN 7
#define META_OUT 8
#define MAX_BATCHES_PER_WAKE 4

typedef struct {
  uv_poll_t poll;
  napi_env env;
  int fd;
  int family;
  int polling;
  int closed;
  int vlen;        // datagrams read per recvmmsg (<= BATCH)
  size_t slot;     // bytes per in-slab slot
  napi_ref cb;
  napi_ref in_ref, in_meta_ref, out_ref, out_meta_ref;
  napi_async_context actx;
  uint8_t *in;
  int32_t *in_meta;
  uint8_t *out;
  size_t out_len;
  int32_t *out_meta;
  size_t out_meta_len;  // entries of META_OUT
  double recv_batches, recv_datagrams, send_errors, send_dropped;
  // Errors taken from the socket outside a send (a connected socket's ICMP errors), and
  // ECONNREFUSED among those and the send errors.
  double sock_errors, refused;
  struct sockaddr_storage addrs[BATCH];
  struct sockaddr_storage out_addrs[BATCH];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
} Sock;

#define CHECK(call)                                  \
  do {                                               \
    if ((call) != napi_ok) {                         \
      napi_throw_error(env, NULL, #call " failed");  \
      return NULL;                                   \
    }                                                \
  } while (0)

static napi_value throw_errno(napi_env env, int err, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value code, message, error;
  const char *name = NULL;
  switch (err) {
    case EADDRINUSE: name = "EADDRINUSE"; break;
    case EADDRNOTAVAIL: name = "EADDRNOTAVAIL"; break;
    case EACCES: name = "EACCES"; break;
    case EAFNOSUPPORT: name = "EAFNOSUPPORT"; break;
    case EINVAL: name = "EINVAL"; break;
    case ENETUNREACH: name = "ENETUNREACH"; break;
    case EMFILE: name = "EMFILE"; break;
    case ENFILE: name = "ENFILE"; break;
    case ENOBUFS: name = "ENOBUFS"; break;
    default: name = "EIO"; break;
  }
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_throw(env, error);
  return NULL;
}

static int parse_addr(int family, const char *host, int port, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  if (family == 6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) return -1;
    *len = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) return -1;
    *len = sizeof *a;
  }
  return 0;
}

static Sock *get_sock(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, NULL, "not a fastudp socket");
    return NULL;
  }
  Sock *s = (Sock *)p;
  if (s->closed) {
    napi_throw_error(env, "ERR_SOCKET_CLOSED", "fastudp socket is closed");
    return NULL;
  }
  return s;
}

// The arguments of a call whose first argument is a socket handle: fills argv (missing
// ones are undefined) and returns the socket, or NULL with a JS exception pending.
static Sock *sock_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "napi_get_cb_info failed");
    return NULL;
  }
  return get_sock(env, argv[0]);
}

// open(family, host, port, reusePort, rcvbufBytes, sndbufBytes) -> handle
static napi_value Open(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t family, port, reuse, rcv, snd;
  char host[64];
  size_t hostlen;
  CHECK(napi_get_value_int32(env, argv[0], &family));
  CHECK(napi_get_value_string_utf8(env, argv[1], host, sizeof host, &hostlen));
  CHECK(napi_get_value_int32(env, argv[2], &port));
  CHECK(napi_get_value_int32(env, argv[3], &reuse));
  CHECK(napi_get_value_int32(env, argv[4], &rcv));
  CHECK(napi_get_value_int32(env, argv[5], &snd));
  struct sockaddr_storage ss;
  socklen_t sslen;
  if (parse_addr(family, host, port, &ss, &sslen) != 0) return throw_errno(env, EINVAL, "bad address");
  int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket");
  int one = 1;
  if (reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, e, "SO_REUSEPORT");
  }
  // Best effort, like dgram's setRecvBufferSize: the kernel caps at rmem_max.
  if (rcv > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  if (snd > 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);
  if (bind(fd, (struct sockaddr *)&ss, sslen) != 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, e, "bind");
  }
  Sock *s = calloc(1, sizeof *s);
  if (s == NULL) {
    close(fd);
    return throw_errno(env, ENOMEM, "calloc");
  }
  s->env = env;
  s->fd = fd;
  s->family = family == 6 ? 6 : 4;
  for (int i = 0; i < BATCH; i++) {
    s->msgs[i].msg_hdr.msg_iov = &s->iov[i];
    s->msgs[i].msg_hdr.msg_iovlen = 1;
  }
  // The Sock outlives its JS handle until close(): the uv_poll handle points at it.
  napi_value ext;
  CHECK(napi_create_external(env, s, NULL, NULL, &ext));
  return ext;
}

// The local port a socket is bound to, or -errno.
static int bound_port(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -errno;
  return ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) : ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

// localPort(handle) -> number
static napi_value LocalPort(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Sock *s = sock_args(env, info, 1, argv);
  if (s == NULL) return NULL;
  int port = bound_port(s->fd);
  if (port < 0) return throw_errno(env, -port, "getsockname");
  napi_value r;
  CHECK(napi_create_int32(env, port, &r));
  return r;
}

// connect(handle, host, port)
static napi_value Connect(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  Sock *s = sock_args(env, info, 3, argv);
  if (s == NULL) return NULL;
  char host[64];
  size_t hostlen;
  int32_t port;
  CHECK(napi_get_value_string_utf8(env, argv[1], host, sizeof host, &hostlen));
  CHECK(napi_get_value_int32(env, argv[2], &port));
  struct sockaddr_storage ss;
  socklen_t sslen;
  if (parse_addr(s->family, host, port, &ss, &sslen) != 0) return throw_errno(env, EINVAL, "bad address");
  if (connect(s->fd, (struct sockaddr *)&ss, sslen) != 0) return throw_errno(env, errno, "connect");
  return NULL;
}

static void *ab_data(napi_env env, napi_value v, size_t *len) {
  void *data = NULL;
  bool is_ab = false;
  napi_is_arraybuffer(env, v, &is_ab);
  if (is_ab) {
    if (napi_get_arraybuffer_info(env, v, &data, len) != napi_ok) return NULL;
    return data;
  }
  napi_typedarray_type t;
  size_t n;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &t, &n, &data, &ab, &off) != napi_ok) return NULL;
  size_t bytes = t == napi_int32_array || t == napi_uint32_array ? n * 4 : n;
  *len = bytes;
  return data;
}

// Sends out-meta entries [0, n): returns how many the kernel took.
static int flush_out(Sock *s, int n) {
  int done = 0;
  while (done < n) {
    int k = 0;
    for (; k < BATCH && done + k < n; k++) {
      int32_t *m = s->out_meta + (size_t)(done + k) * META_OUT;
      int32_t slot = m[0], off = m[1], len = m[2];
      struct msghdr *h = &s->msgs[k].msg_hdr;
      if (off < 0 || len < 0 || (size_t)off + (size_t)len > s->out_len) len = 0, off = 0;
      s->iov[k].iov_base = s->out + off;
      s->iov[k].iov_len = (size_t)len;
      if (slot >= 0 && slot < BATCH) {
        h->msg_name = &s->addrs[slot];
        h->msg_namelen = s->addrs[slot].ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
      } else if (slot == -2) {
        struct sockaddr_storage *ss = &s->out_addrs[k];
        memset(ss, 0, sizeof *ss);
        if (s->family == 6) {
          struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
          uint32_t w[4];
          for (int j = 0; j < 4; j++) w[j] = htonl((uint32_t)m[4 + j]);
          a6->sin6_family = AF_INET6;
          a6->sin6_port = htons((uint16_t)m[3]);
          memcpy(&a6->sin6_addr, w, 16);
          h->msg_namelen = sizeof *a6;
        } else {
          struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
          a4->sin_family = AF_INET;
          a4->sin_port = htons((uint16_t)m[3]);
          a4->sin_addr.s_addr = htonl((uint32_t)m[4]);
          h->msg_namelen = sizeof *a4;
        }
        h->msg_name = ss;
      } else {
        h->msg_name = NULL;
        h->msg_namelen = 0;
      }
      h->msg_control = NULL;
      h->msg_controllen = 0;
      h->msg_flags = 0;
    }
    int r = sendmmsg(s->fd, s->msgs, (unsigned)k, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
        s->send_dropped += n - done;
        // Tell the caller which entries did not leave: their length becomes -errno.
        for (int j = done; j < n; j++) s->out_meta[(size_t)j * META_OUT + 2] = -errno;
        return done;
      }
      // One message the kernel refused (for example ECONNREFUSED on a connected
      // socket, EINVAL, or ENETUNREACH): mark it (length -errno), skip it, go on.
      s->out_meta[(size_t)done * META_OUT + 2] = -errno;
      s->send_errors += 1;
      if (errno == ECONNREFUSED) s->refused += 1;
      done += 1;
      continue;
    }
    done += r;
  }
  return done;
}

static void count_sock_error(Sock *s, int err) {
  s->sock_errors += 1;
  if (err == ECONNREFUSED) s->refused += 1;
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  Sock *s = (Sock *)handle->data;
  if (s->closed) return;
  napi_env env = s->env;
  if (status < 0) {
    // libuv stops a poll handle on POLLERR. On a connected UDP socket that is a
    // pending ICMP error (port unreachable: ECONNREFUSED): take it, which clears it,
    // count it, and poll again, or the socket would never read again.
    // Whatever the error, poll again: a listener that stopped reading would be a
    // node that answers nothing while its process looks alive.
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) count_sock_error(s, err);
    else count_sock_error(s, -status);
    uv_poll_start(&s->poll, UV_READABLE, on_readable);
    return;
  }
  if (!(events & UV_READABLE)) return;
  for (int round = 0; round < MAX_BATCHES_PER_WAKE && !s->closed; round++) {
    for (int i = 0; i < s->vlen; i++) {
      struct msghdr *h = &s->msgs[i].msg_hdr;
      s->iov[i].iov_base = s->in + (size_t)i * s->slot;
      s->iov[i].iov_len = s->slot;
      h->msg_name = &s->addrs[i];
      h->msg_namelen = sizeof s->addrs[i];
      h->msg_control = NULL;
      h->msg_controllen = 0;
      h->msg_flags = 0;
    }
    int n = recvmmsg(s->fd, s->msgs, (unsigned)s->vlen, MSG_DONTWAIT | MSG_TRUNC, NULL);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      // A pending socket error (ICMP on a connected socket) is reported once, instead of
      // the datagrams: count it and read on.
      count_sock_error(s, errno);
      continue;
    }
    if (n <= 0) return;  // EAGAIN: drained
    s->recv_batches += 1;
    s->recv_datagrams += n;
    for (int i = 0; i < n; i++) {
      int32_t *m = s->in_meta + (size_t)i * META_IN;
      struct sockaddr_storage *a = &s->addrs[i];
      m[0] = (int32_t)s->msgs[i].msg_len;
      if (a->ss_family == AF_INET6) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)a;
        uint32_t w[4];
        memcpy(w, &a6->sin6_addr, 16);
        m[1] = ntohs(a6->sin6_port);
        m[2] = 6;
        for (int j = 0; j < 4; j++) m[3 + j] = (int32_t)ntohl(w[j]);
      } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)a;
        m[1] = ntohs(a4->sin_port);
        m[2] = 4;
        m[3] = (int32_t)ntohl(a4->sin_addr.s_addr);
        m[4] = m[5] = m[6] = 0;
      }
    }
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value cb, recv, argv[1], result;
    napi_get_reference_value(env, s->cb, &cb);
    napi_get_global(env, &recv);  // MakeCallback wants an object receiver
    napi_create_int32(env, n, &argv[0]);
    // MakeCallback runs the nextTick and promise queues before it returns here, and JS
    // code run there may queue into the out slab too: so index.ts sends the batch's
    // replies itself before returning and returns 0. A positive return still means
    // "send the first r out-meta entries now", for callers that queue nothing later.
    napi_status st = napi_make_callback(env, s->actx, recv, cb, 1, argv, &result);
    int replies = 0;
    if (st == napi_ok) {
      int32_t r = 0;
      if (napi_get_value_int32(env, result, &r) == napi_ok && r > 0) replies = r;
    } else {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value err;
        napi_get_and_clear_last_exception(env, &err);
        napi_fatal_exception(env, err);
      }
    }
    napi_close_handle_scope(env, scope);
    if (s->closed) return;
    if ((size_t)replies > s->out_meta_len) replies = (int)s->out_meta_len;
    if (replies > 0) flush_out(s, replies);
    if (n < s->vlen) return;
  }
}

// start(handle, inSlab, inMeta, outSlab, outMeta, callback(count) -> replies, vlen, slotBytes)
static napi_value Start(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  Sock *s = sock_args(env, info, 8, argv);
  if (s == NULL) return NULL;
  if (s->polling) {
    napi_throw_error(env, NULL, "fastudp socket already started");
    return NULL;
  }
  int32_t vlen, slot;
  CHECK(napi_get_value_int32(env, argv[6], &vlen));
  CHECK(napi_get_value_int32(env, argv[7], &slot));
  if (vlen < 1 || vlen > BATCH || slot < 512 || slot > 65536) {
    napi_throw_range_error(env, NULL, "fastudp: vlen must be 1..BATCH and slotBytes 512..65536");
    return NULL;
  }
  s->vlen = vlen;
  s->slot = (size_t)slot;
  size_t in_len = 0, in_meta_len = 0, out_len = 0, out_meta_len = 0;
  s->in = ab_data(env, argv[1], &in_len);
  s->in_meta = ab_data(env, argv[2], &in_meta_len);
  s->out = ab_data(env, argv[3], &out_len);
  s->out_meta = ab_data(env, argv[4], &out_meta_len);
  if (s->in == NULL || in_len < (size_t)vlen * s->slot || s->in_meta == NULL || in_meta_len < (size_t)vlen * META_IN * 4 ||
      s->out == NULL || s->out_meta == NULL || out_meta_len < META_OUT * 4) {
    napi_throw_range_error(env, NULL, "fastudp: slab or meta array too small");
    return NULL;
  }
  s->out_len = out_len;
  s->out_meta_len = out_meta_len / (META_OUT * 4);
  CHECK(napi_create_reference(env, argv[1], 1, &s->in_ref));
  CHECK(napi_create_reference(env, argv[2], 1, &s->in_meta_ref));
  CHECK(napi_create_reference(env, argv[3], 1, &s->out_ref));
  CHECK(napi_create_reference(env, argv[4], 1, &s->out_meta_ref));
  CHECK(napi_create_reference(env, argv[5], 1, &s->cb));
  napi_value name;
  CHECK(napi_create_string_utf8(env, "fastudp", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &s->actx));
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  if (uv_poll_init_socket(loop, &s->poll, s->fd) != 0) {
    napi_throw_error(env, NULL, "uv_poll_init_socket failed");
    return NULL;
  }
  s->poll.data = s;
  uv_poll_start(&s->poll, UV_READABLE, on_readable);
  s->polling = 1;
  return NULL;
}

// send(handle, n) -> sent: the first n out-meta entries (outside a receive callback)
static napi_value Send(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Sock *s = sock_args(env, info, 2, argv);
  if (s == NULL) return NULL;
  int32_t n;
  CHECK(napi_get_value_int32(env, argv[1], &n));
  if (s->out_meta == NULL) {
    napi_throw_error(env, NULL, "fastudp socket not started");
    return NULL;
  }
  if (n < 0) n = 0;
  if ((size_t)n > s->out_meta_len) n = (int32_t)s->out_meta_len;
  napi_value r;
  CHECK(napi_create_int32(env, flush_out(s, n), &r));
  return r;
}

// sendTo(handle, bytes: Uint8Array, port, host) -> bytes sent, or -errno
static napi_value SendTo(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  Sock *s = sock_args(env, info, 4, argv);
  if (s == NULL) return NULL;
  size_t len = 0;
  void *data = ab_data(env, argv[1], &len);
  int32_t port;
  char host[64];
  size_t hostlen;
  CHECK(napi_get_value_int32(env, argv[2], &port));
  CHECK(napi_get_value_string_utf8(env, argv[3], host, sizeof host, &hostlen));
  struct sockaddr_storage ss;
  socklen_t sslen;
  int r;
  if (data == NULL && len > 0) r = -EINVAL;
  else if (parse_addr(s->family, host, port, &ss, &sslen) != 0) r = -EINVAL;
  else {
    ssize_t w;
    do w = sendto(s->fd, data, len, 0, (struct sockaddr *)&ss, sslen); while (w < 0 && errno == EINTR);
    r = w < 0 ? -errno : (int)w;
    if (w < 0) s->send_errors += 1;
  }
  napi_value out;
  CHECK(napi_create_int32(env, r, &out));
  return out;
}

static void on_close(uv_handle_t *h) {
  Sock *s = (Sock *)h->data;
  close(s->fd);
  free(s);
}

// close(handle): stops reading, releases the JS references, frees after the loop lets go.
static napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *p = NULL;
  if (napi_get_value_external(env, argv[0], &p) != napi_ok || p == NULL) return NULL;
  Sock *s = (Sock *)p;
  if (s->closed) return NULL;
  s->closed = 1;
  if (s->polling) {
    napi_delete_reference(env, s->cb);
    napi_delete_reference(env, s->in_ref);
    napi_delete_reference(env, s->in_meta_ref);
    napi_delete_reference(env, s->out_ref);
    napi_delete_reference(env, s->out_meta_ref);
    napi_async_destroy(env, s->actx);
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_close);
  } else {
    close(s->fd);
    free(s);
  }
  return NULL;
}

// ref(handle, bool): whether this socket keeps the event loop alive.
static napi_value Ref(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Sock *s = sock_args(env, info, 2, argv);
  if (s == NULL) return NULL;
  bool on;
  CHECK(napi_get_value_bool(env, argv[1], &on));
  if (s->polling) {
    if (on) uv_ref((uv_handle_t *)&s->poll);
    else uv_unref((uv_handle_t *)&s->poll);
  }
  return NULL;
}

// counters(handle) -> [recvBatches, recvDatagrams, sendErrors, sendDropped, sockErrors, refused]
// A JS array of n numbers: what the counters() calls return.
static napi_value number_array(napi_env env, const double *vals, uint32_t n) {
  napi_value arr, v;
  CHECK(napi_create_array_with_length(env, n, &arr));
  for (uint32_t i = 0; i < n; i++) {
    CHECK(napi_create_double(env, vals[i], &v));
    CHECK(napi_set_element(env, arr, i, v));
  }
  return arr;
}

static napi_value Counters(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Sock *s = sock_args(env, info, 1, argv);
  if (s == NULL) return NULL;
  double vals[6] = {s->recv_batches, s->recv_datagrams, s->send_errors, s->send_dropped, s->sock_errors, s->refused};
  return number_array(env, vals, 6);
}

// ---- Query sockets: one connected UDP socket per upstream query ------------
//
// The resolver gives every upstream query a socket of its own on a random port
// (RFC 5452), so a socket lives for one query: opened, bound, connected, sent
// on, read once and closed. A full Sock (batch arrays, five JS references, an
// async context, a libuv poll handle) per query cost ~80 us of CPU, most of it
// bookkeeping. Here a QSet owns one epoll instance, itself watched by one libuv
// poll handle on Node's loop; a query socket is only a fd added to it (closing
// the fd removes it from the epoll set), and every reply is read straight into
// one shared buffer and handed to one JS callback with the socket's id, its fd.

typedef struct {
  uv_poll_t poll;     // watches epfd
  napi_env env;
  int epfd;
  napi_ref cb;        // callback(id, len): len >= 0 a datagram in the slab, < 0 -errno
  napi_ref slab_ref;
  napi_async_context actx;
  uint8_t *slab;
  size_t slab_len;
  uint8_t *open;      // by fd: 1 while a query socket is open
  int cap;
  double opened, replies, errors;
} QSet;

#define QSET_EVENTS 64
// Rounds of QSET_EVENTS read per wake at most (4096 replies): bounded work per wake.
#define QSET_MAX_ROUNDS 64

static QSet *get_qset(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, NULL, "not a fastudp query set");
    return NULL;
  }
  return (QSet *)p;
}

// The arguments of a call whose first argument is a query set: fills argv (missing
// ones are undefined) and returns the set, or NULL with a JS exception pending.
static QSet *qset_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "napi_get_cb_info failed");
    return NULL;
  }
  return get_qset(env, argv[0]);
}

// (set, id) calls: the set, and in *fd the id when it names an open query socket, else -1.
static QSet *qset_id_args(napi_env env, napi_callback_info info, int *fd) {
  napi_value argv[2];
  QSet *q = qset_args(env, info, 2, argv);
  *fd = -1;
  if (q == NULL) return NULL;
  int32_t id;
  if (napi_get_value_int32(env, argv[1], &id) != napi_ok) {
    napi_throw_type_error(env, NULL, "query socket id must be a number");
    return NULL;
  }
  if (id >= 0 && id < q->cap && q->open[id]) *fd = id;
  return q;
}

static void qset_deliver(QSet *q, int id, int len) {
  napi_env env = q->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv_, argv[2], result;
  napi_get_reference_value(env, q->cb, &cb);
  napi_get_global(env, &recv_);
  napi_create_int32(env, id, &argv[0]);
  napi_create_int32(env, len, &argv[1]);
  if (napi_make_callback(env, q->actx, recv_, cb, 2, argv, &result) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
    }
  }
  napi_close_handle_scope(env, scope);
}

// Reads what the kernel holds for the set's sockets: every ready socket, in rounds
// of QSET_EVENTS, up to QSET_MAX_ROUNDS rounds. Returns the replies and errors
// delivered. Reading only one round per wake used to leave replies queued in the
// kernel while the timers of their queries fired in the same loop turn: under a
// burst (hundreds of answers ready at once) they were counted as timeouts, retried
// and their servers' RTOs doubled, though every answer had arrived.
static int qset_drain(QSet *q) {
  struct epoll_event evs[QSET_EVENTS];
  int delivered = 0;
  for (int round = 0; round < QSET_MAX_ROUNDS; round++) {
    int n;
    do n = epoll_wait(q->epfd, evs, QSET_EVENTS, 0); while (n < 0 && errno == EINTR);
    if (n <= 0) break;
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      // Closed by an earlier callback of this batch (or its fd already reused by a new
      // socket: then there is nothing to read yet and recv says EAGAIN).
      if (fd < 0 || fd >= q->cap || !q->open[fd]) continue;
      // One datagram per socket per round: the answer is usually the only one; epoll is
      // level-triggered, so anything else waiting is read in the next round or wake.
      ssize_t r;
      do r = recv(fd, q->slab, q->slab_len, MSG_DONTWAIT | MSG_TRUNC); while (r < 0 && errno == EINTR);
      if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) continue;
        // A pending ICMP error on the connected socket (port unreachable: ECONNREFUSED).
        q->errors += 1;
        qset_deliver(q, fd, -errno);
        delivered++;
        continue;
      }
      q->replies += 1;
      qset_deliver(q, fd, r > (ssize_t)q->slab_len ? (int)q->slab_len + 1 : (int)r);
      delivered++;
    }
    if (n < QSET_EVENTS) break;
  }
  return delivered;
}

static void on_qset_readable(uv_poll_t *handle, int status, int events) {
  QSet *q = (QSet *)handle->data;
  (void)events;
  if (status < 0) { uv_poll_start(&q->poll, UV_READABLE, on_qset_readable); return; }
  qset_drain(q);
}

// qpoll(set) -> replies and errors delivered: reads every reply already in the
// kernel now, so a query's timeout is decided on what has arrived, not on how far
// the event loop has got with reading it.
static napi_value Qpoll(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  QSet *q = qset_args(env, info, 1, argv);
  if (q == NULL) return NULL;
  napi_value r;
  CHECK(napi_create_int32(env, qset_drain(q), &r));
  return r;
}

// qsetCreate(slab: ArrayBuffer, callback(id, len)) -> set
static napi_value QsetCreate(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  size_t len = 0;
  void *data = ab_data(env, argv[0], &len);
  if (data == NULL || len < 512) {
    napi_throw_range_error(env, NULL, "fastudp: query set slab too small");
    return NULL;
  }
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return throw_errno(env, errno, "epoll_create1");
  QSet *q = calloc(1, sizeof *q);
  if (q == NULL) { close(epfd); return throw_errno(env, ENOMEM, "calloc"); }
  q->env = env;
  q->epfd = epfd;
  q->slab = data;
  q->slab_len = len;
  CHECK(napi_create_reference(env, argv[0], 1, &q->slab_ref));
  CHECK(napi_create_reference(env, argv[1], 1, &q->cb));
  napi_value name;
  CHECK(napi_create_string_utf8(env, "fastudp.query", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &q->actx));
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  if (uv_poll_init(loop, &q->poll, epfd) != 0) {
    napi_throw_error(env, NULL, "uv_poll_init failed");
    return NULL;
  }
  q->poll.data = q;
  uv_poll_start(&q->poll, UV_READABLE, on_qset_readable);
  // The set itself must not keep Node alive; each open socket's query holds a timer anyway.
  uv_unref((uv_handle_t *)&q->poll);
  napi_value ext;
  CHECK(napi_create_external(env, q, NULL, NULL, &ext));
  return ext;
}

// qopen(set, family, localPort, host, port, packet) -> id (>= 0), or -errno
// Opens a socket bound to localPort (0: the kernel picks), connects it to
// host:port, sends the packet and starts reading, in one call. Nothing stays open
// on an error; EADDRINUSE comes back as -EADDRINUSE so the caller can draw again.
static napi_value Qopen(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  QSet *q = qset_args(env, info, 6, argv);
  if (q == NULL) return NULL;
  int32_t family, lport, port;
  char host[64];
  size_t hostlen;
  CHECK(napi_get_value_int32(env, argv[1], &family));
  CHECK(napi_get_value_int32(env, argv[2], &lport));
  CHECK(napi_get_value_string_utf8(env, argv[3], host, sizeof host, &hostlen));
  CHECK(napi_get_value_int32(env, argv[4], &port));
  size_t plen = 0;
  void *pkt = ab_data(env, argv[5], &plen);
  int r;
  struct sockaddr_storage local, dst;
  socklen_t llen, dlen;
  if (pkt == NULL || parse_addr(family, family == 6 ? "::" : "0.0.0.0", lport, &local, &llen) != 0 ||
      parse_addr(family, host, port, &dst, &dlen) != 0) {
    r = -EINVAL;
  } else {
    int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      r = -errno;
    } else {
      ssize_t w = -1;
      if (bind(fd, (struct sockaddr *)&local, llen) == 0 && connect(fd, (struct sockaddr *)&dst, dlen) == 0) {
        do w = send(fd, pkt, plen, 0); while (w < 0 && errno == EINTR);
      }
      r = w < 0 ? -errno : fd;
      if (r >= 0 && fd >= q->cap) {
        int cap = q->cap ? q->cap : 1024;
        while (cap <= fd) cap *= 2;
        uint8_t *n = realloc(q->open, (size_t)cap);
        if (n == NULL) r = -ENOMEM;
        else {
          memset(n + q->cap, 0, (size_t)(cap - q->cap));
          q->open = n;
          q->cap = cap;
        }
      }
      if (r >= 0) {
        struct epoll_event ev;
        memset(&ev, 0, sizeof ev);
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        if (epoll_ctl(q->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) r = -errno;
      }
      if (r < 0) close(fd);
      else {
        q->open[fd] = 1;
        q->opened += 1;
      }
    }
  }
  napi_value result;
  CHECK(napi_create_int32(env, r, &result));
  return result;
}

// qclose(set, id): closes the socket (which also takes it out of the epoll set).
static napi_value Qclose(napi_env env, napi_callback_info info) {
  int fd;
  QSet *q = qset_id_args(env, info, &fd);
  if (q == NULL || fd < 0) return NULL;
  q->open[fd] = 0;
  close(fd);
  return NULL;
}

// qlocalPort(set, id) -> the port the socket is bound to (for one opened with port 0), or -errno
static napi_value QlocalPort(napi_env env, napi_callback_info info) {
  int fd;
  QSet *q = qset_id_args(env, info, &fd);
  if (q == NULL) return NULL;
  int port = fd >= 0 ? bound_port(fd) : -EBADF;
  napi_value r;
  CHECK(napi_create_int32(env, port, &r));
  return r;
}

// qcounters(set) -> [opened, replies, errors]
static napi_value Qcounters(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  QSet *q = qset_args(env, info, 1, argv);
  if (q == NULL) return NULL;
  double vals[3] = {q->opened, q->replies, q->errors};
  return number_array(env, vals, 3);
}

// trim() -> 1 when malloc_trim gave memory back to the kernel, 0 when not, -1 when
// this C library has no malloc_trim (not glibc). glibc keeps what free() releases
// in its arenas; after the start-up warm-up (resolver/startup-memory.ts) that is
// several MiB of RSS nobody will use soon. malloc_trim(0) returns the free pages of
// every arena (madvise DONTNEED), not only the top of the main heap.
static napi_value Trim(napi_env env, napi_callback_info info) {
#ifdef __GLIBC__
  int r = malloc_trim(0);
#else
  int r = -1;
#endif
  napi_value v;
  CHECK(napi_create_int32(env, r, &v));
  return v;
}

// dropPages(address, length) -> 0 or -errno: madvise(MADV_DONTNEED) on a range of
// this process's own mappings. resolver/startup-memory.ts calls it only for
// read-only file mappings with no private (copy-on-write) pages, the executable
// code and read-only data of Node and its libraries: their pages stay in the
// kernel's page cache and come back, unchanged, on the next access (a minor
// fault). What start-up alone ran (module loading, parsing, compiling) then no
// longer counts in RSS; the code the resolver keeps running faults back in.
// Never call it on a writable or anonymous mapping: that would discard data.
static napi_value DropPages(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t addr = 0, len = 0;
  if (argc < 2 || napi_get_value_int64(env, argv[0], &addr) != napi_ok || napi_get_value_int64(env, argv[1], &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "dropPages(address, length): two numbers");
    return NULL;
  }
  long page = sysconf(_SC_PAGESIZE);
  int r = 0;
  if (addr <= 0 || len <= 0 || addr % page != 0) r = -EINVAL;
  else if (madvise((void *)(uintptr_t)addr, (size_t)len, MADV_DONTNEED) != 0) r = -errno;
  napi_value v;
  CHECK(napi_create_int32(env, r, &v));
  return v;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, Open, NULL, NULL, NULL, napi_default, NULL},
      {"localPort", NULL, LocalPort, NULL, NULL, NULL, napi_default, NULL},
      {"connect", NULL, Connect, NULL, NULL, NULL, napi_default, NULL},
      {"start", NULL, Start, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, Send, NULL, NULL, NULL, napi_default, NULL},
      {"sendTo", NULL, SendTo, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, Close, NULL, NULL, NULL, napi_default, NULL},
      {"ref", NULL, Ref, NULL, NULL, NULL, napi_default, NULL},
      {"counters", NULL, Counters, NULL, NULL, NULL, napi_default, NULL},
      {"qsetCreate", NULL, QsetCreate, NULL, NULL, NULL, napi_default, NULL},
      {"qopen", NULL, Qopen, NULL, NULL, NULL, napi_default, NULL},
      {"qclose", NULL, Qclose, NULL, NULL, NULL, napi_default, NULL},
      {"qlocalPort", NULL, QlocalPort, NULL, NULL, NULL, napi_default, NULL},
      {"qcounters", NULL, Qcounters, NULL, NULL, NULL, napi_default, NULL},
      {"qpoll", NULL, Qpoll, NULL, NULL, NULL, napi_default, NULL},
      {"trim", NULL, Trim, NULL, NULL, NULL, napi_default, NULL},
      {"dropPages", NULL, DropPages, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_value v;
  napi_create_int32(env, BATCH, &v);
  napi_set_named_property(env, exports, "BATCH", v);
  napi_create_int32(env, SLOT, &v);
  napi_set_named_property(env, exports, "SLOT", v);
  return exports;
}

#ifndef NODE_GYP_MODULE_NAME
#define NODE_GYP_MODULE_NAME fastudp
#endif
NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
