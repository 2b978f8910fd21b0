#include "kernel_events.hpp"

#include <utility>

namespace cellos::telemetry::kernel {

KernelEvents::KernelEvents(KernelEventsConfig config, Emit emit)
    : config_(std::move(config)),
      emit_(std::move(emit)),
      limiter_(config_.log_burst, config_.log_window_ns) {}

void KernelEvents::handle(const KmsgRecord& r, uint64_t now_ns) {
  // Every record takes a sequence number, user-facility ones too, so gaps count all of them.
  account_sequence(r.seq, now_ns);
  // A root process can write to /dev/kmsg; the kernel files that under the user facility (or
  // whichever it names, never the kernel's), so only facility 0 is the kernel speaking.
  if (r.facility != kKernelFacility) return;
  classify(r, now_ns);
}

void KernelEvents::account_sequence(uint64_t seq, uint64_t now_ns) {
  uint64_t lost = 0;
  if (next_seq_ && seq > *next_seq_) {
    lost = seq - *next_seq_;
  } else if (!next_seq_ && overwritten_) {
    lost = 1;
  }
  overwritten_ = false;
  next_seq_ = seq + 1;
  if (lost == 0) return;
  b_.reset("kernel.lost", config_.self_pid, config_.self_comm, now_ns).u("lost_count", lost);
  emit_(b_);
}

void KernelEvents::classify(const KmsgRecord& r, uint64_t now_ns) {
  const std::string_view m = r.message;
  if (auto c = parse_oom_context(m)) {
    oom_context_ = std::move(*c);
    return;
  }
  if (auto v = parse_oom_victim(m)) {
    oom_kill(*v, r.seq, now_ns);
    return;
  }
  if (auto f = parse_segfault(m)) {
    b_.reset("kernel.segfault", f->pid, f->comm, now_ns)
        .u("address", f->address)
        .u("ip", f->ip)
        .u("sp", f->sp)
        .u("error", f->error)
        .text("object", f->object);
    emit_(b_);
    return;
  }
  if (auto t = parse_trap(m)) {
    b_.reset("kernel.trap", t->pid, t->comm, now_ns).text("trap", t->trap);
    if (t->ip) b_.u("ip", *t->ip);
    if (t->sp) b_.u("sp", *t->sp);
    if (t->error) b_.u("error", *t->error);
    if (!t->object.empty()) b_.text("object", t->object);
    emit_(b_);
    return;
  }
  if (auto h = parse_hung_task(m)) {
    b_.reset("kernel.hung_task", h->pid, h->comm, now_ns).u("blocked_s", h->blocked_s);
    emit_(b_);
    return;
  }
  if (auto w = parse_warning(m)) {
    b_.reset("kernel.warning", w->pid.value_or(r.caller_tid.value_or(0)), "", now_ns)
        .text("message", bounded_kmsg_text(m, kMaxMessageBytes));
    emit_(b_);
    return;
  }
  if (r.level <= config_.min_level) log(r.level, m, r.caller_tid.value_or(0), now_ns);
}

void KernelEvents::oom_kill(const OomVictim& v, uint64_t seq, uint64_t now_ns) {
  // The companion is printed just before the victim's record, about the same pid.
  std::optional<OomContext> context;
  if (oom_context_ && oom_context_->pid == v.pid) context = std::move(oom_context_);
  oom_context_.reset();
  b_.reset("kernel.oom_kill", v.pid, v.comm, now_ns);
  if (const auto uid = v.uid ? v.uid : context ? context->uid : std::nullopt) b_.u("uid", *uid);
  b_.u("total_vm_kib", v.total_vm_kib)
      .u("anon_rss_kib", v.anon_rss_kib)
      .u("file_rss_kib", v.file_rss_kib)
      .u("shmem_rss_kib", v.shmem_rss_kib);
  if (v.oom_score_adj) b_.i("oom_score_adj", *v.oom_score_adj);
  if (context) b_.text("constraint", context->constraint).text("memcg", context->memcg);
  b_.u("kmsg_seq", seq);
  emit_(b_);
}

void KernelEvents::log(uint32_t level, std::string_view message, uint32_t pid, uint64_t now_ns) {
  if (limiter_.admit(now_ns)) {
    emit_log(level, message, pid, limiter_.take_suppressed(), now_ns);
    return;
  }
  held_.level = level;
  held_.pid = pid;
  held_.message.assign(bounded_kmsg_text(message, kMaxMessageBytes));
}

void KernelEvents::report_suppressed(uint64_t now_ns) {
  if (limiter_.suppressed() == 0) return;
  limiter_.start_report_window(now_ns);
  // The held record is reported, so it is not among those it says were suppressed.
  const uint64_t others = limiter_.take_suppressed() - 1;
  emit_log(held_.level, held_.message, held_.pid, others, now_ns);
}

void KernelEvents::emit_log(uint32_t level, std::string_view message, uint32_t pid,
                            uint64_t suppressed, uint64_t now_ns) {
  b_.reset("kernel.log", pid, "", now_ns)
      .u("level", level)
      .text("message", bounded_kmsg_text(message, kMaxMessageBytes))
      .u("suppressed", suppressed);
  emit_(b_);
}

}  // namespace cellos::telemetry::kernel
