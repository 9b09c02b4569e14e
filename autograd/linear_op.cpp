#include "autograd/linear_op.h"

#include "autograd/node.h"

namespace convgrad::detail {

Tensor linear_result(Tensor y, const Tensor& x, const std::string& name,
                     std::shared_ptr<const LinearPair> pair, bool transposed) {
  return make_result(
      std::move(y), {x}, name.c_str(),
      [pair, transposed, name](const Tensor& g) {
        // The adjoint's own gradient is the map: the twin op swaps the two.
        const std::string twin = transposed ? name.substr(0, name.size() - 9) : name + "_backward";
        Tensor gx = transposed ? pair->map(g) : pair->adjoint(g);
        return std::vector<Tensor>{linear_result(std::move(gx), g, twin, pair, !transposed)};
      },
      DoubleBackward::Supported);
}

}  // namespace convgrad::detail
