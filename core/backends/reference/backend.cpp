#include "core/backends/reference/backend.h"

#include "core/backends/reference/conv.h"

namespace convgrad {

namespace {

// Validates each call (a direct Backend call must not crash) and runs the loops. It converts nothing,
// so it ignores the operand caches.
class ReferenceBackend final : public Backend {
 public:
  const char* name() const override { return "reference"; }

  void conv_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y,
                    const ConvParams& p, const ConvCaches&) override {
    check_conv_call("reference conv_forward", x, w, y, bias, false, p);
    reference::conv_forward(x, w, bias, y, p);
  }

  void conv_backward_data(const Tensor& dy, const Tensor& w, const Tensor& bias, const Tensor& dx,
                          const ConvParams& p, const ConvCaches&) override {
    check_conv_call("reference conv_backward_data", dx, w, dy, bias, true, p);
    reference::conv_backward_data(dy, w, bias, dx, p);
  }

  void conv_backward_weights(const Tensor& x, const Tensor& dy, const Tensor& dw, const Tensor& db,
                             const ConvParams& p, const ConvCaches&) override {
    check_conv_call("reference conv_backward_weights", x, dw, dy, db, false, p);
    reference::conv_backward_weights(x, dy, dw, db, p);
  }
};

}  // namespace

std::unique_ptr<Backend> make_reference_backend() { return std::make_unique<ReferenceBackend>(); }

}  // namespace convgrad
