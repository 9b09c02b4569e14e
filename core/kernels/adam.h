// The Adam / AdamW parameter update: a plain loop that defines it and an AVX2 + FMA version that must
// match it bit for bit. No autograd; float32 only.
#pragma once

#include <cstdint>

namespace convgrad::kernels {

/// The scalars of one parameter's update (torch 1.13's _single_tensor_adam(w), as float32).
struct AdamScalars {
  float beta1, beta2, one_minus_beta1, one_minus_beta2;
  float weight_decay;  ///< Adam's L2 term (added to the gradient)
  float eps;
  float decay;          ///< AdamW's decoupled factor 1 - lr * weight_decay
  float neg_step_size;  ///< -lr / bias_correction1
  float bias_correction2_sqrt;
};

/// Which update: maximize negates the gradient; decoupled is AdamW (decay the parameter), else
/// `l2` adds weight_decay * param to the gradient (Adam); amsgrad keeps the running max of v.
struct AdamVariant {
  bool maximize = false, decoupled = false, l2 = false, amsgrad = false;
};

/// The update of elements [k0, k1), op by op as PyTorch's separate tensor ops round: the definition.
/// `vmax` may be null unless `variant.amsgrad`.
void adam_update_reference(const AdamScalars& c, AdamVariant variant, float* p, const float* g, float* m,
                           float* v, float* vmax, int64_t k0, int64_t k1);

/// The same update, eight elements at a time with AVX2 + FMA where the build has them (else the
/// reference loop); bit-identical to adam_update_reference for every element, tails included.
void adam_update_simd(const AdamScalars& c, AdamVariant variant, float* p, const float* g, float* m, float* v,
                      float* vmax, int64_t k0, int64_t k1);

/// The update of all `n` elements, split over threads (flat_loop) and run by adam_update_simd.
void adam_update(const AdamScalars& c, AdamVariant variant, float* p, const float* g, float* m, float* v,
                 float* vmax, int64_t n);

}  // namespace convgrad::kernels
