// absl_mode: see absl_mode.h. One call into absl, no exceptions or RTTI,
// so the mock still links as a C program.
#include "absl_mode.h"

#include <absl/synchronization/mutex.h>

extern "C" void absl_mode_no_deadlock_detection(void) {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}
