/*
 * absl_mode: turns off absl's mutex deadlock detection for the gRPC core
 * linked into the mock. Debian builds absl without NDEBUG, so every
 * absl::Mutex lock the core takes also walks absl's lock-order graph
 * (GetGraphId, DeadlockCheck: about 4 % of the mock's CPU per Check,
 * docs/performance.md). The mock's own locks are pthread ones, untouched.
 *
 * Built from absl_mode.cc (C++, the only C++ in the mock) when libabsl-dev
 * is installed (CMake option HC_ABSL_QUIET); otherwise this is a no-op.
 */
#ifndef HC_ABSL_MODE_H
#define HC_ABSL_MODE_H

#ifdef __cplusplus
extern "C" {
#endif

#ifdef HC_ABSL_QUIET
/* Sets absl::OnDeadlockCycle::kIgnore process-wide. Call before the first
 * gRPC call (grpc_init): absl reads the mode on each lock. */
void absl_mode_no_deadlock_detection(void);
#else
static inline void absl_mode_no_deadlock_detection(void) {}
#endif

#ifdef __cplusplus
}
#endif

#endif
