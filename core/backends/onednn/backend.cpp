#include "core/backends/onednn/backend.h"

#include "core/backends/onednn/conv.h"

namespace convgrad {

namespace {

// Runs oneDNN (or its fallback) on calls Backend has validated.
class OnednnBackend final : public Backend {
 public:
  const char* name() const override { return "onednn"; }

 private:
  void run_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y, const ConvParams& p,
                   const ConvCaches& caches) override {
    onednn::conv_forward(x, w, bias, y, p, caches);
  }

  void run_backward_data(const Tensor& dy, const Tensor& w, const Tensor& bias, const Tensor& dx,
                         const ConvParams& p, const ConvCaches& caches) override {
    onednn::conv_backward_data(dy, w, bias, dx, p, caches);
  }

  void run_backward_weights(const Tensor& x, const Tensor& dy, const Tensor& dw, const Tensor& db,
                            const ConvParams& p, const ConvCaches& caches) override {
    onednn::conv_backward_weights(x, dy, dw, db, p, caches);
  }
};

}  // namespace

std::unique_ptr<Backend> make_onednn_backend() { return std::make_unique<OnednnBackend>(); }

}  // namespace convgrad
