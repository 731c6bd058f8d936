// One exception type for every user-facing failure: bad files, bad flags, bad requests. The message says which
// file or field is wrong and what was expected; main() prints it and exits non-zero.
#pragma once
#include <stdexcept>
#include <string>

namespace fs {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace fs
