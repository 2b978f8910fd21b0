/* capture-floor-observer: the least an observer of every process can do, as a floor for the
 * agent's CPU per process. It subscribes to the process connector and to taskstats exit records
 * for every CPU, reads both in recvmmsg batches, keeps (kind, pid) of each fork (new thread group
 * only), exec and exit in memory, and reads nothing from /proc. No names, no arguments, no
 * encoding, no sink: what the agent does beyond this is the price of what it reports.
 *
 * On SIGTERM or SIGINT it prints what it kept ("fork PID", "exec PID", "exit PID", one a line,
 * then "taskstats N" for the exit records read) and exits 0, so printing costs nothing while the
 * workload runs. Needs root (the connector, SO_RCVBUFFORCE). Exit 1 on a set-up failure, with the
 * reason on stderr. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/taskstats.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kBatch = 64, kSlot = 512 };

struct record {
  uint32_t kind; /* 0 fork, 1 exec, 2 exit */
  uint32_t pid;
};

static struct record* records;
static size_t n_records, cap_records;
static uint64_t taskstats_read;
static volatile sig_atomic_t stop;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static void keep(uint32_t kind, uint32_t pid) {
  if (n_records == cap_records) {
    cap_records = cap_records ? cap_records * 2 : 65536;
    records = realloc(records, cap_records * sizeof *records);
    if (!records) {
      perror("capture-floor-observer: realloc");
      exit(1);
    }
  }
  records[n_records].kind = kind;
  records[n_records].pid = pid;
  ++n_records;
}

static int netlink_socket(int protocol, unsigned groups) {
  const int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) return -1;
  const int size = 4 << 20; /* as the agent's default receive_buffer_kib (doubled by the kernel) */
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
  struct sockaddr_nl addr = {.nl_family = AF_NETLINK, .nl_groups = groups};
  if (bind(fd, (struct sockaddr*)&addr, sizeof addr) != 0) return -1;
  return fd;
}

static int connector_open(void) {
  const int fd = netlink_socket(NETLINK_CONNECTOR, CN_IDX_PROC);
  if (fd < 0) return -1;
  char req[NLMSG_LENGTH(sizeof(struct cn_msg) + sizeof(uint32_t))] = {0};
  struct nlmsghdr* nh = (struct nlmsghdr*)req;
  nh->nlmsg_len = sizeof req;
  nh->nlmsg_type = NLMSG_DONE;
  struct cn_msg* cn = NLMSG_DATA(nh);
  cn->id.idx = CN_IDX_PROC;
  cn->id.val = CN_VAL_PROC;
  cn->len = sizeof(uint32_t);
  const uint32_t op = PROC_CN_MCAST_LISTEN;
  memcpy(cn->data, &op, sizeof op);
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(fd, req, sizeof req, 0, (struct sockaddr*)&kernel, sizeof kernel) < 0) return -1;
  return fd;
}

/* A generic netlink request: header, genlmsghdr, then one attribute. */
static int genl_send(int fd, uint16_t family, uint8_t cmd, uint16_t attr, const void* data,
                     size_t len) {
  char buf[256] = {0};
  struct nlmsghdr* nh = (struct nlmsghdr*)buf;
  struct genlmsghdr* g = NLMSG_DATA(nh);
  g->cmd = cmd;
  g->version = 1;
  struct nlattr* na = (struct nlattr*)((char*)g + GENL_HDRLEN);
  na->nla_type = attr;
  na->nla_len = (uint16_t)(NLA_HDRLEN + len);
  memcpy((char*)na + NLA_HDRLEN, data, len);
  nh->nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN + NLA_ALIGN(na->nla_len));
  nh->nlmsg_type = family;
  nh->nlmsg_flags = NLM_F_REQUEST;
  nh->nlmsg_pid = (uint32_t)getpid();
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  return sendto(fd, buf, nh->nlmsg_len, 0, (struct sockaddr*)&kernel, sizeof kernel) < 0 ? -1 : 0;
}

/* The taskstats family id, asked of the generic netlink controller (blocking, once). */
static int taskstats_open(void) {
  const int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_GENERIC);
  if (fd < 0) return -1;
  const int size = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
  struct sockaddr_nl addr = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr*)&addr, sizeof addr) != 0) return -1;
  if (genl_send(fd, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_NAME, TASKSTATS_GENL_NAME,
                sizeof TASKSTATS_GENL_NAME) != 0)
    return -1;
  char buf[4096];
  const ssize_t n = recv(fd, buf, sizeof buf, 0);
  if (n < (ssize_t)NLMSG_HDRLEN) return -1;
  struct nlmsghdr* nh = (struct nlmsghdr*)buf;
  if (nh->nlmsg_type == NLMSG_ERROR) return -1;
  uint16_t family = 0;
  char* p = (char*)NLMSG_DATA(nh) + GENL_HDRLEN;
  char* end = buf + nh->nlmsg_len;
  while (p + NLA_HDRLEN <= end) {
    struct nlattr* na = (struct nlattr*)p;
    if (na->nla_len < NLA_HDRLEN) break;
    if (na->nla_type == CTRL_ATTR_FAMILY_ID) memcpy(&family, p + NLA_HDRLEN, sizeof family);
    p += NLA_ALIGN(na->nla_len);
  }
  if (family == 0) return -1;
  char mask[32];
  snprintf(mask, sizeof mask, "0-%ld", sysconf(_SC_NPROCESSORS_CONF) - 1);
  if (genl_send(fd, family, TASKSTATS_CMD_GET, TASKSTATS_CMD_ATTR_REGISTER_CPUMASK, mask,
                strlen(mask) + 1) != 0)
    return -1;
  return fd;
}

static struct mmsghdr headers[kBatch];
static struct iovec iovs[kBatch];
static char slots[kBatch][kSlot];

/* One recvmmsg batch; the number of datagrams, 0 when none were waiting. */
static int batch(int fd) {
  for (int i = 0; i < kBatch; ++i) {
    iovs[i].iov_base = slots[i];
    iovs[i].iov_len = kSlot;
    memset(&headers[i].msg_hdr, 0, sizeof headers[i].msg_hdr);
    headers[i].msg_hdr.msg_iov = &iovs[i];
    headers[i].msg_hdr.msg_iovlen = 1;
  }
  const int n = recvmmsg(fd, headers, kBatch, MSG_DONTWAIT, NULL);
  if (n < 0) return errno == ENOBUFS ? 1 : 0; /* a loss shows as missing records */
  return n;
}

static void read_connector(int fd) {
  int n;
  while ((n = batch(fd)) > 0) {
    for (int i = 0; i < n; ++i) {
      if (headers[i].msg_len < NLMSG_LENGTH(sizeof(struct cn_msg)) + 16) continue;
      const struct cn_msg* cn = NLMSG_DATA((struct nlmsghdr*)slots[i]);
      const struct proc_event* ev = (const struct proc_event*)cn->data;
      switch (ev->what) {
        case PROC_EVENT_FORK:
          if (ev->event_data.fork.child_pid == ev->event_data.fork.child_tgid)
            keep(0, (uint32_t)ev->event_data.fork.child_tgid);
          break;
        case PROC_EVENT_EXEC:
          keep(1, (uint32_t)ev->event_data.exec.process_tgid);
          break;
        case PROC_EVENT_EXIT:
          if (ev->event_data.exit.process_pid == ev->event_data.exit.process_tgid)
            keep(2, (uint32_t)ev->event_data.exit.process_tgid);
          break;
        default:
          break;
      }
    }
    if (n < kBatch) break;
  }
}

static void read_taskstats(int fd) {
  int n;
  while ((n = batch(fd)) > 0) {
    taskstats_read += (uint64_t)n; /* the floor reads each record; the agent parses its name */
    if (n < kBatch) break;
  }
}

int main(void) {
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  const int cn = connector_open();
  if (cn < 0) {
    fprintf(stderr, "capture-floor-observer: process connector: %s\n", strerror(errno));
    return 1;
  }
  const int ts = taskstats_open();
  if (ts < 0) fprintf(stderr, "capture-floor-observer: no taskstats (%s)\n", strerror(errno));
  struct pollfd fds[2] = {{.fd = cn, .events = POLLIN}, {.fd = ts, .events = POLLIN}};
  while (!stop) {
    if (poll(fds, ts < 0 ? 1 : 2, -1) < 0) continue; /* EINTR: the signal */
    if (fds[0].revents) read_connector(cn);
    if (ts >= 0 && fds[1].revents) read_taskstats(ts);
  }
  static const char* const kinds[] = {"fork", "exec", "exit"};
  for (size_t i = 0; i < n_records; ++i) printf("%s %u\n", kinds[records[i].kind], records[i].pid);
  printf("taskstats %llu\n", (unsigned long long)taskstats_read);
  return 0;
}
