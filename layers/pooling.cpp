#include "layers/pooling.h"

#include "autograd/ops_pool.h"

namespace convgrad {

namespace {

template <class Options>
void check_pool(const char* layer, const Options& o) {
  const Pair k = o.kernel_size(), s = o.stride(), p = o.padding();
  CONVGRAD_CHECK(k[0] > 0 && k[1] > 0, "{}: kernel_size [{}, {}] must be positive", layer, k[0], k[1]);
  CONVGRAD_CHECK(s[0] > 0 && s[1] > 0, "{}: stride [{}, {}] must be positive", layer, s[0], s[1]);
  CONVGRAD_CHECK(p[0] >= 0 && p[1] >= 0 && 2 * p[0] <= k[0] && 2 * p[1] <= k[1],
                 "{}: padding [{}, {}] must be >= 0 and at most half of kernel_size [{}, {}]", layer, p[0],
                 p[1], k[0], k[1]);
}

template <class Options>
std::string pool_repr(const Options& o) {
  std::string s =
      fmt::format("kernel_size=({}, {}), stride=({}, {}), padding=({}, {})", o.kernel_size()[0],
                  o.kernel_size()[1], o.stride()[0], o.stride()[1], o.padding()[0], o.padding()[1]);
  if (o.ceil_mode()) s += ", ceil_mode=True";
  return s;
}

}  // namespace

MaxPool2d::MaxPool2d(const MaxPool2dOptions& options) : options_(options) {
  check_pool("MaxPool2d", options);
}

Tensor MaxPool2d::forward(const Tensor& x) { return max_pool2d(x, options_); }

std::string MaxPool2d::extra_repr() const { return pool_repr(options_); }

AvgPool2d::AvgPool2d(const AvgPool2dOptions& options) : options_(options) {
  check_pool("AvgPool2d", options);
  CONVGRAD_CHECK(!options.divisor_override() || *options.divisor_override() != 0,
                 "AvgPool2d: divisor_override must not be zero; leave it unset to divide by the window size");
}

Tensor AvgPool2d::forward(const Tensor& x) { return avg_pool2d(x, options_); }

std::string AvgPool2d::extra_repr() const {
  std::string s = pool_repr(options_);
  if (!options_.count_include_pad()) s += ", count_include_pad=False";
  if (options_.divisor_override()) s += fmt::format(", divisor_override={}", *options_.divisor_override());
  return s;
}

}  // namespace convgrad
