// PyTorch goldens (tools/gen_conv_goldens.py -> tests/data/conv/*.npz): forward, grad input, grad
// weight and grad bias of conv2d and conv_transpose2d, on every built backend.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "autograd/ops_conv.h"
#include "core/backend.h"
#include "core/npy.h"
#include "test_conv_util.h"

using namespace convgrad;
using convgrad::testing::as_double;
using convgrad::testing::check_close;

namespace {

const char* const kCases[] = {"conv_basic",
                              "conv_groups_stride_dilation",
                              "conv_same_even_kernel",
                              "conv_valid_unbatched",
                              "conv_depthwise",
                              "convt_basic",
                              "convt_groups_dilation",
                              "convt_fcn_k16s8",
                              "convt_output_size_unbatched",
                              "convt_depthwise_op_gt_pad"};

// Runs the op a golden describes and compares y and every gradient.
void check_golden(const std::string& name) {
  std::map<std::string, Tensor> g = load_npz(std::string(CONVGRAD_TEST_DATA) + "/conv/" + name + ".npz");
  std::vector<int64_t> a = g.at("args").to_vector<int64_t>();
  REQUIRE(a.size() == 13);
  Tensor x = g.at("x"), w = g.at("w");
  Tensor b = g.count("b") ? g.at("b") : Tensor();
  x.set_requires_grad();
  w.set_requires_grad();
  if (b.defined()) b.set_requires_grad();
  Tensor y;
  if (a[0] == 0) {
    Conv2dFuncOptions o;
    o.stride(Pair{a[1], a[2]}).dilation(Pair{a[5], a[6]}).groups(a[7]);
    if (a[10])
      o.padding(PaddingMode::Same);
    else
      o.padding(Pair{a[3], a[4]});
    y = conv2d(x, w, b, o);
  } else {
    ConvTranspose2dFuncOptions o;
    o.stride(Pair{a[1], a[2]}).padding(Pair{a[3], a[4]}).dilation(Pair{a[5], a[6]}).groups(a[7]);
    o.output_padding(Pair{a[8], a[9]});
    if (a[11] >= 0) o.output_size(Pair{a[11], a[12]});
    y = conv_transpose2d(x, w, b, o);
  }
  REQUIRE(y.shape() == g.at("y").shape());
  check_close(y, as_double(g.at("y")), "forward");
  y.backward(g.at("gy"));
  check_close(x.grad(), as_double(g.at("gx")), "grad input");
  check_close(w.grad(), as_double(g.at("gw")), "grad weight");
  if (b.defined()) check_close(b.grad(), as_double(g.at("gb")), "grad bias");
}

}  // namespace

TEST_CASE("conv2d and conv_transpose2d match PyTorch 1.13 on every backend") {
  std::string saved = current_backend();
  for (const std::string& backend : available_backends()) {
    set_backend(backend);
    for (const char* name : kCases) {
      INFO(backend << ": " << name);
      check_golden(name);
    }
  }
  set_backend(saved);
}
