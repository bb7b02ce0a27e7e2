#include "mnr/merkle.h"

#include "mnr/crypto.h"

namespace mnr::merkle {
namespace {

// The largest power of two smaller than n (n >= 2): where RFC 6962 splits a tree of n leaves.
std::uint64_t SplitPoint(std::uint64_t n) {
  std::uint64_t k = 1;
  while ((k << 1) < n) k <<= 1;
  return k;
}

bool IsPowerOfTwo(std::uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

int Log2(std::uint64_t n) {
  int k = 0;
  while ((std::uint64_t{1} << k) < n) ++k;
  return k;
}

Status CheckHashes(const std::vector<std::string>& proof) {
  for (std::size_t i = 0; i < proof.size(); ++i) {
    if (proof[i].size() != kHashBytes) {
      return Status::Corruption("proof element " + std::to_string(i) + " is " + std::to_string(proof[i].size()) +
                                " bytes, not a 32-byte SHA-256 hash");
    }
  }
  return Status::OK();
}

}  // namespace

std::string EmptyRoot() { return crypto::Sha256(""); }

std::string LeafHash(std::string_view entry) {
  std::string buf;
  buf.reserve(entry.size() + 1);
  buf.push_back('\x00');
  buf.append(entry);
  return crypto::Sha256(buf);
}

std::string NodeHash(std::string_view left, std::string_view right) {
  std::string buf;
  buf.reserve(1 + left.size() + right.size());
  buf.push_back('\x01');
  buf.append(left);
  buf.append(right);
  return crypto::Sha256(buf);
}

Tree::Tree(const std::vector<std::string>& leaf_hashes) {
  for (const auto& h : leaf_hashes) Append(h);
}

void Tree::Append(std::string leaf_hash) {
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].push_back(std::move(leaf_hash));
  // Like a binary counter: each completed pair at level k makes one node at level k + 1.
  for (std::size_t k = 0; levels_[k].size() % 2 == 0; ++k) {
    if (levels_.size() == k + 1) levels_.emplace_back();
    const auto& below = levels_[k];
    std::string node = NodeHash(below[below.size() - 2], below[below.size() - 1]);
    levels_[k + 1].push_back(std::move(node));
  }
}

std::string Tree::Range(std::uint64_t begin, std::uint64_t end) const {
  const std::uint64_t n = end - begin;
  if (IsPowerOfTwo(n) && begin % n == 0) {
    const int level = Log2(n);
    return levels_[static_cast<std::size_t>(level)][begin / n];
  }
  const std::uint64_t k = SplitPoint(n);
  return NodeHash(Range(begin, begin + k), Range(begin + k, end));
}

std::string Tree::Root(std::uint64_t n) const {
  if (n == 0) return EmptyRoot();
  return Range(0, n);
}

void Tree::Path(std::uint64_t m, std::uint64_t begin, std::uint64_t end, std::vector<std::string>& out) const {
  const std::uint64_t n = end - begin;
  if (n <= 1) return;
  const std::uint64_t k = SplitPoint(n);
  if (m < k) {
    Path(m, begin, begin + k, out);
    out.push_back(Range(begin + k, end));
  } else {
    Path(m - k, begin + k, end, out);
    out.push_back(Range(begin, begin + k));
  }
}

Result<std::vector<std::string>> Tree::InclusionProof(std::uint64_t m, std::uint64_t n) const {
  if (n > size()) return Status::InvalidArgument("tree size " + std::to_string(n) + " exceeds the log (" + std::to_string(size()) + " entries)");
  if (m >= n) return Status::InvalidArgument("entry " + std::to_string(m) + " is outside a tree of " + std::to_string(n) + " entries");
  std::vector<std::string> out;
  Path(m, 0, n, out);
  return out;
}

void Tree::SubProof(std::uint64_t m, std::uint64_t begin, std::uint64_t end, bool complete,
                    std::vector<std::string>& out) const {
  const std::uint64_t n = end - begin;
  if (m == n) {
    if (!complete) out.push_back(Range(begin, end));
    return;
  }
  const std::uint64_t k = SplitPoint(n);
  if (m <= k) {
    SubProof(m, begin, begin + k, complete, out);
    out.push_back(Range(begin + k, end));
  } else {
    SubProof(m - k, begin + k, end, false, out);
    out.push_back(Range(begin, begin + k));
  }
}

Result<std::vector<std::string>> Tree::ConsistencyProof(std::uint64_t m, std::uint64_t n) const {
  if (n > size()) return Status::InvalidArgument("tree size " + std::to_string(n) + " exceeds the log (" + std::to_string(size()) + " entries)");
  if (m > n) return Status::InvalidArgument("a tree of " + std::to_string(m) + " entries cannot be a prefix of one of " + std::to_string(n));
  std::vector<std::string> out;
  if (m == 0 || m == n) return out;
  SubProof(m, 0, n, true, out);
  return out;
}

Status VerifyInclusion(std::string_view leaf_hash, std::uint64_t index, std::uint64_t size,
                       const std::vector<std::string>& proof, std::string_view root) {
  MNR_RETURN_IF_ERROR(CheckHashes(proof));
  if (leaf_hash.size() != kHashBytes || root.size() != kHashBytes) return Status::Corruption("a hash is not 32 bytes");
  if (index >= size) {
    return Status::Corruption("entry " + std::to_string(index) + " cannot be in a tree of " + std::to_string(size) + " entries");
  }
  std::uint64_t fn = index, sn = size - 1;
  std::string r(leaf_hash);
  for (const auto& p : proof) {
    if (sn == 0) return Status::Corruption("the inclusion proof is longer than the tree is deep");
    if ((fn & 1) || fn == sn) {
      r = NodeHash(p, r);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Status::Corruption("the inclusion proof is shorter than the tree is deep");
  if (r != root) return Status::Corruption("the inclusion proof leads to another root than the tree head's");
  return Status::OK();
}

Status VerifyConsistency(std::uint64_t old_size, std::uint64_t new_size, std::string_view old_root,
                         std::string_view new_root, const std::vector<std::string>& proof) {
  MNR_RETURN_IF_ERROR(CheckHashes(proof));
  if (old_size > new_size) {
    return Status::Corruption("the log shrank from " + std::to_string(old_size) + " to " + std::to_string(new_size) + " entries");
  }
  if (old_size == 0) {
    if (!proof.empty()) return Status::Corruption("a consistency proof from the empty tree must be empty");
    if (old_root != EmptyRoot()) return Status::Corruption("the root of the empty tree is not SHA-256 of nothing");
    return Status::OK();
  }
  if (old_size == new_size) {
    if (!proof.empty()) return Status::Corruption("a consistency proof between equal sizes must be empty");
    if (old_root != new_root) return Status::Corruption("two tree heads of the same size have different roots");
    return Status::OK();
  }
  if (proof.empty()) return Status::Corruption("the consistency proof is empty");
  std::vector<std::string> path;
  if (IsPowerOfTwo(old_size)) path.emplace_back(old_root);
  path.insert(path.end(), proof.begin(), proof.end());
  std::uint64_t fn = old_size - 1, sn = new_size - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  std::string fr = path[0], sr = path[0];
  for (std::size_t i = 1; i < path.size(); ++i) {
    const std::string& c = path[i];
    if (sn == 0) return Status::Corruption("the consistency proof is longer than the tree is deep");
    if ((fn & 1) || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Status::Corruption("the consistency proof is shorter than the tree is deep");
  if (fr != old_root) return Status::Corruption("the consistency proof does not lead to the older tree head's root");
  if (sr != new_root) return Status::Corruption("the consistency proof does not lead to the newer tree head's root");
  return Status::OK();
}

}  // namespace mnr::merkle
