#include "core/backends/reference/backend.h"

#include "core/backends/reference/conv.h"

namespace convgrad {

namespace {

// Runs the loops on calls Backend has validated. It converts nothing, so it ignores the operand caches.
class ReferenceBackend final : public Backend {
 public:
  const char* name() const override { return "reference"; }

 private:
  void run_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y, const ConvParams& p,
                   const ConvCaches&) override {
    reference::conv_forward(x, w, bias, y, p);
  }

  void run_backward_data(const Tensor& dy, const Tensor& w, const Tensor& bias, const Tensor& dx,
                         const ConvParams& p, const ConvCaches&) override {
    reference::conv_backward_data(dy, w, bias, dx, p);
  }

  void run_backward_weights(const Tensor& x, const Tensor& dy, const Tensor& dw, const Tensor& db,
                            const ConvParams& p, const ConvCaches&) override {
    reference::conv_backward_weights(x, dy, dw, db, p);
  }
};

}  // namespace

std::unique_ptr<Backend> make_reference_backend() { return std::make_unique<ReferenceBackend>(); }

}  // namespace convgrad
