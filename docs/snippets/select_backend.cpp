// docs/backends.md: choosing the convolution backend at run time.
#include <convgrad/convgrad.h>

#include <algorithm>

int main() {
  // [doc:use]
  auto names = convgrad::available_backends();  // {"onednn", "reference"}, or {"reference"}
  bool has_reference = std::find(names.begin(), names.end(), "reference") != names.end();
  convgrad::set_backend("reference");  // every convolution from now on
  fmt::print("reference available: {}, current: {}\n", has_reference, convgrad::current_backend());
  // [/doc]
}
