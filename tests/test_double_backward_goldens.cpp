// PyTorch goldens of second-order convolution gradients (tools/gen_double_backward_goldens.py ->
// tests/data/double_backward/*.npz): the first-order gradients taken with create_graph, and the gradients of
// <gx, vx> + <gw, vw> with respect to x, w and gy, for conv2d and conv_transpose2d on every built backend.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "core/backend.h"
#include "core/npy.h"
#include "test_util.h"

using namespace convgrad;

namespace {

const char* const kCases[] = {
    "conv_basic",  "conv_stride2_pad1",     "conv_dilation2",         "conv_groups2_stride21",
    "convt_basic", "convt_stride2_outpad1", "convt_groups2_dilation2"};

// Within 1e-4 of the golden, relative to the golden's largest magnitude (a per-element relative error is
// meaningless where a sum of products cancels to near zero).
void check_rel(const Tensor& got, const Tensor& want, const std::string& what) {
  INFO(what);
  REQUIRE(got.defined());
  REQUIRE(got.shape() == want.shape());
  const auto [err, scale] = convgrad::testing::golden_error(got, want);
  INFO("max error " << err << ", golden scale " << scale);
  CHECK(scale > 0);
  CHECK(err <= 1e-4 * scale);  // NaN fails
}

void check_case(const std::string& name) {
  std::map<std::string, Tensor> g =
      load_npz(std::string(CONVGRAD_TEST_DATA) + "/double_backward/" + name + ".npz");
  std::vector<int64_t> a = g.at("args").to_vector<int64_t>();
  REQUIRE(a.size() == 10);
  Tensor x = g.at("x"), w = g.at("w"), gy = g.at("gy");
  x.set_requires_grad();
  w.set_requires_grad();
  gy.set_requires_grad();
  Tensor y;
  if (a[0] == 0) {
    y = conv2d(x, w, Tensor(),
               Conv2dFuncOptions()
                   .stride(Pair{a[1], a[2]})
                   .padding(Pair{a[3], a[4]})
                   .dilation(Pair{a[5], a[6]})
                   .groups(a[7]));
  } else {
    y = conv_transpose2d(x, w, Tensor(),
                         ConvTranspose2dFuncOptions()
                             .stride(Pair{a[1], a[2]})
                             .padding(Pair{a[3], a[4]})
                             .dilation(Pair{a[5], a[6]})
                             .groups(a[7])
                             .output_padding(Pair{a[8], a[9]}));
  }
  std::vector<Tensor> first = grad({y}, {x, w}, {gy}, std::nullopt, /*create_graph=*/true);
  check_rel(first[0], g.at("gx"), name + ": gx");
  check_rel(first[1], g.at("gw"), name + ": gw");
  Tensor s = sum(first[0] * g.at("vx")) + sum(first[1] * g.at("vw"));
  std::vector<Tensor> second = grad({s}, {x, w, gy});
  check_rel(second[0], g.at("hx"), name + ": d/dx");
  check_rel(second[1], g.at("hw"), name + ": d/dw");
  check_rel(second[2], g.at("hgy"), name + ": d/dgy");
}

}  // namespace

TEST_CASE("second-order conv2d and conv_transpose2d gradients match PyTorch 1.13 on every backend") {
  std::string saved = current_backend();
  for (const std::string& backend : available_backends()) {
    set_backend(backend);
    for (const char* name : kCases) {
      INFO(backend);
      check_case(name);
    }
  }
  set_backend(saved);
}
