// A data-parallel job where rank 1 fails while rank 0 waits in an all-reduce. `throw`: rank 1 throws
// (the terminate handler of dist::init aborts the job); `hang`: rank 1 stops answering (rank 0's
// collective times out and aborts). ctest expects the abort message, within its timeout.
#include <chrono>
#include <string>
#include <thread>

#include "core/dist.h"
#include "core/error.h"
#include "core/factory.h"

using namespace convgrad;

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "throw";
  dist::Context context;
  Tensor t = full({16}, 1.0);
  dist::all_reduce(t);  // one collective that succeeds
  if (dist::rank() == 1) {
    if (mode == "throw") fail("rank 1 fails on purpose in the middle of training");
    std::this_thread::sleep_for(std::chrono::seconds(60));
  }
  dist::all_reduce(t);  // rank 0 waits here
  return 0;
}
