// convgrad::Error: the one exception type every invalid call throws.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace convgrad {

/// Thrown by every invalid call; the message names the op, the shapes and what was expected.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Throws convgrad::Error with a fmt-formatted message.
template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace convgrad

/// CONVGRAD_CHECK(condition, format, args...): throws convgrad::Error unless `condition` holds. The
/// message arguments are evaluated and formatted only when the check fails, so a passing check costs
/// one branch: hot paths check every call with it (like TORCH_CHECK). Write the condition as what
/// must hold, so a NaN (every comparison false) fails the check: `CONVGRAD_CHECK(err <= tol, ...)`.
#define CONVGRAD_CHECK(condition, ...) \
  do {                                 \
    if (!(condition)) [[unlikely]]     \
      ::convgrad::fail(__VA_ARGS__);   \
  } while (false)
