// The reverse pass: iterative topological order (Kahn's algorithm), never recursion.
#include <array>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "autograd/anomaly.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/factory.h"
#include "core/kernels/elementwise.h"

namespace convgrad {

namespace {

// True when nothing but the handle `t` reaches its data: no other handle to its impl, no other view of its
// storage, and it is a plain contiguous float32 buffer from element 0. Such a gradient may be taken over or
// added into in place without anyone seeing it change.
bool exclusive(const Tensor& t) {
  return t.impl_ptr().use_count() == 1 && t.storage().use_count() == 1 && t.dtype() == DType::Float32 &&
         t.offset() == 0 && t.is_contiguous() && !t.requires_grad();
}

// a + b for two float32 tensors of one shape; gradients are summed this way. In place into `a` when the
// engine alone holds it, else into a fresh buffer.
Tensor add_same_shape(Tensor a, const Tensor& b) {
  if (exclusive(a)) {
    kernels::add_inplace(a, b);
    return a;
  }
  return kernels::add(a, b);
}

// Graphs that share a leaf may run backward() on different threads at once: accumulation into a leaf's
// gradient holds a lock chosen by the leaf's address, so no contribution is lost and no gradient is seen
// half-added. A fixed table of locks rather than one per tensor keeps tensors small; only one is ever
// held at a time, so sharing one between two leaves cannot deadlock.
std::mutex& leaf_lock(const TensorImpl* leaf) {
  static std::array<std::mutex, 64> locks;
  const uint64_t h = (static_cast<uint64_t>(reinterpret_cast<uintptr_t>(leaf)) >> 4) * 0x9e3779b97f4a7c15ull;
  return locks[h >> 58];  // the top 6 bits: 64 locks
}

// A leaf's gradient is always its own contiguous buffer, never an alias of another tensor: the first
// gradient is taken as is when nothing else holds it (else copied), later ones are added.
void accumulate_leaf(const Tensor& leaf, Tensor g) {
  std::lock_guard<std::mutex> lock(leaf_lock(leaf.impl()));
  std::shared_ptr<TensorImpl>& slot = leaf.impl()->autograd.grad;
  if (slot) {
    Tensor existing(slot);
    // Two handles now (the slot and `existing`): no user holds the old gradient, so it may grow in place.
    if (slot.use_count() == 2 && existing.storage().use_count() == 1 && existing.is_contiguous() &&
        existing.offset() == 0) {
      kernels::add_inplace(existing, g);
      return;
    }
    leaf.set_grad(kernels::add(existing, g));
    return;
  }
  leaf.set_grad(exclusive(g) ? g : clone_data(g));
}

void run_backward(const Tensor& root, const Tensor& gradient, bool retain_graph) {
  check(root.requires_grad(),
        "backward: tensor of shape {} does not require grad (no input of the ops that made it had "
        "requires_grad set)",
        shape_str(root.shape()));
  Tensor seed = gradient;
  if (!seed.defined()) {
    check(root.numel() == 1,
          "backward: an implicit gradient needs a scalar output, got shape {}; pass a gradient of that "
          "shape",
          shape_str(root.shape()));
    seed = ones(root.shape());
  }
  check(seed.shape() == root.shape(), "backward: gradient shape {} does not match output shape {}",
        shape_str(seed.shape()), shape_str(root.shape()));
  NoGradGuard no_grad;  // backward closures compute with plain ops

  if (root.is_leaf()) {
    accumulate_leaf(root, seed);
    return;
  }

  // 1. Count, for every node reachable from the root, how many edges lead into it.
  // `alive` holds every node until the pass ends: releasing a node may drop the last handle to another.
  std::unordered_map<Node*, int> pending_edges;
  std::vector<std::shared_ptr<Node>> alive{root.grad_fn()};
  std::vector<Node*> stack{root.grad_fn().get()};
  std::unordered_set<Node*> seen{stack.back()};
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    if (node->released()) node->apply(Tensor());  // throws the "already freed" error
    for (const auto& in : node->inputs()) {
      if (!in.defined() || !in.grad_fn()) continue;
      Node* producer = in.grad_fn().get();
      ++pending_edges[producer];
      if (seen.insert(producer).second) {
        stack.push_back(producer);
        alive.push_back(in.grad_fn());
      }
    }
  }

  // 2. Run nodes once all their consumers have contributed (Kahn's algorithm).
  std::unordered_map<Node*, Tensor> grads{{root.grad_fn().get(), seed}};
  std::vector<Node*> ready{root.grad_fn().get()};
  while (!ready.empty()) {
    Node* node = ready.back();
    ready.pop_back();
    const auto& inputs = node->inputs();
    // A node that received no gradient at all (its consumers returned none) is skipped, but its
    // producers still learn that this edge is done.
    auto found = grads.find(node);
    std::vector<Tensor> in_grads(inputs.size());
    if (found != grads.end()) {
      Tensor grad_out = std::move(found->second);
      grads.erase(found);
      {
        detail::BackwardScope scope;  // anomaly mode checks the closure's results below, not its inner ops
        in_grads = node->apply(grad_out);
      }
      check(in_grads.size() == inputs.size(), "backward of '{}': returned {} gradients for {} inputs",
            node->name(), in_grads.size(), inputs.size());
      if (detect_anomaly()) detail::anomaly_check_backward(*node, grad_out, in_grads);
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
      const Tensor& in = inputs[i];
      Tensor& g = in_grads[i];  // moved on below, so a gradient nobody else holds stays exclusive
      if (!in.defined()) continue;
      Node* producer = in.grad_fn().get();
      if (g.defined() && in.requires_grad()) {
        check(g.shape() == in.shape(), "backward of '{}': gradient {} has shape {}, input has shape {}",
              node->name(), i, shape_str(g.shape()), shape_str(in.shape()));
        if (!producer) {
          accumulate_leaf(in, std::move(g));
        } else if (auto it = grads.find(producer); it == grads.end()) {
          grads.emplace(producer, std::move(g));
        } else {
          it->second = add_same_shape(std::move(it->second), g);
        }
      }
      if (producer && --pending_edges[producer] == 0) ready.push_back(producer);
    }
    if (!retain_graph) node->release();
  }
}

}  // namespace

void backward(const Tensor& root, const Tensor& gradient, bool retain_graph) {
  run_backward(root, gradient, retain_graph);
}

}  // namespace convgrad
