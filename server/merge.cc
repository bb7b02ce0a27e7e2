#include "server/merge.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <string_view>

namespace mnr::server::merge {
namespace {

// A fixed-size bit set; field histories are short, so n x n bits is small.
class Bits {
 public:
  explicit Bits(std::size_t n) : words_((n + 63) / 64, 0) {}
  bool Test(std::size_t i) const { return (words_[i / 64] >> (i % 64)) & 1u; }
  void Set(std::size_t i) { words_[i / 64] |= std::uint64_t{1} << (i % 64); }
  // Adds `o`; returns true if anything was added.
  bool Merge(const Bits& o) {
    bool grew = false;
    for (std::size_t w = 0; w < words_.size(); ++w) {
      std::uint64_t before = words_[w];
      words_[w] |= o.words_[w];
      grew |= words_[w] != before;
    }
    return grew;
  }

 private:
  std::vector<std::uint64_t> words_;
};

int CompareValues(const std::optional<std::string>& a, const std::optional<std::string>& b) {
  if (!a && !b) return 0;
  if (!a) return -1;
  if (!b) return 1;
  int c = std::string_view(*a).compare(std::string_view(*b));
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

}  // namespace

bool RanksBelow(const Op& a, const Op& b) {
  if (a.hlc != b.hlc) return a.hlc < b.hlc;
  int c = std::string_view(a.author).compare(std::string_view(b.author));
  if (c != 0) return c < 0;
  return CompareValues(a.value, b.value) < 0;
}

bool NamesOnlyOlderParents(const Op& op) {
  for (const auto& p : op.parents) {
    if (p.size() < 18 || p[16] != '@') return false;
    HlcTime hlc = 0;
    for (std::size_t i = 0; i < 16; ++i) {
      const char c = p[i];
      const int d = c >= '0' && c <= '9' ? c - '0' : (c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1);
      if (d < 0) return false;
      hlc = (hlc << 4) | static_cast<HlcTime>(d);
    }
    const std::string_view author = std::string_view(p).substr(17);
    if (hlc > op.hlc || (hlc == op.hlc && author >= op.author)) return false;
  }
  return true;
}

bool SupersedesAll(const Op& winner, const std::vector<std::string>& heads, const Op& op) {
  if (!NamesOnlyOlderParents(op) || !RanksBelow(winner, op) || heads.empty()) return false;
  for (const auto& h : heads) {
    if (std::find(op.parents.begin(), op.parents.end(), h) == op.parents.end()) return false;
  }
  return true;
}

std::string CandidateKey(const std::vector<std::string>& versions) {
  std::vector<std::string> sorted = versions;
  std::sort(sorted.begin(), sorted.end());
  std::string key;
  for (const auto& v : sorted) {
    if (!key.empty()) key += '\n';
    key += v;
  }
  return key;
}

FieldMerge MergeField(const std::vector<Op>& input) {
  // Work in rank order so that every later choice ("lowest-ranked", "oldest first") is a plain scan.
  std::vector<std::size_t> order;
  std::map<std::string_view, std::size_t> by_version;
  for (std::size_t i = 0; i < input.size(); ++i) {
    if (by_version.emplace(input[i].version, i).second) order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return RanksBelow(input[a], input[b]); });
  const std::size_t n = order.size();
  std::map<std::string_view, std::size_t> rank_of;
  for (std::size_t r = 0; r < n; ++r) rank_of[input[order[r]].version] = r;
  auto op = [&](std::size_t r) -> const Op& { return input[order[r]]; };

  // anc[r] = ranks of every op that op r descends from (transitive closure; parents may be missing
  // from the set or even form a cycle when a peer lies, and the closure still is well defined).
  std::vector<Bits> direct(n, Bits(n));
  std::map<std::string_view, std::size_t> last_by_author;
  for (std::size_t r = 0; r < n; ++r) {
    for (const auto& p : op(r).parents) {
      auto it = rank_of.find(p);
      if (it != rank_of.end() && it->second != r) direct[r].Set(it->second);
    }
    // The author's previous edit is enough: the closure below reaches all the earlier ones through it.
    auto prev = last_by_author.find(op(r).author);
    if (prev != last_by_author.end() && op(prev->second).hlc < op(r).hlc) direct[r].Set(prev->second);
    last_by_author[op(r).author] = r;
  }
  // Honest histories only point back in rank order (a device's clock moves past everything it has
  // seen), so one pass in rank order closes them in O(n^2/64). A parent ranked above its child (a peer
  // lying about time) falls back to iterating to a fixed point, which is well defined for any graph.
  std::vector<Bits> anc = direct;
  bool backwards_only = true;
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t s = r + 1; s < n && backwards_only; ++s) backwards_only = !direct[r].Test(s);
    for (std::size_t s = 0; s < r; ++s) {
      if (direct[r].Test(s)) anc[r].Merge(anc[s]);
    }
  }
  for (bool grew = !backwards_only; grew;) {
    grew = false;
    for (std::size_t r = 0; r < n; ++r) {
      for (std::size_t s = 0; s < n; ++s) {
        if (anc[r].Test(s)) grew |= anc[r].Merge(anc[s]);
      }
    }
  }
  auto descends = [&](std::size_t a, std::size_t b) { return anc[a].Test(b) && !anc[b].Test(a); };

  FieldMerge result;
  // Winner: the highest-ranked op that nothing strictly descends from.
  bool have_winner = false;
  for (std::size_t r = n; r-- > 0;) {
    bool superseded = false;
    for (std::size_t s = 0; s < n && !superseded; ++s) superseded = s != r && descends(s, r);
    if (!superseded) {
      if (!have_winner) result.winner = order[r];
      have_winner = true;
      result.heads.push_back(order[r]);
    }
  }
  std::sort(result.heads.begin(), result.heads.end());

  // Disagreeing pairs, grouped by the op that settles them (n = unsettled).
  std::map<std::size_t, std::vector<bool>> groups;
  for (std::size_t a = 0; a < n; ++a) {
    for (std::size_t b = a + 1; b < n; ++b) {
      if (anc[a].Test(b) || anc[b].Test(a)) continue;
      if (CompareValues(op(a).value, op(b).value) == 0) continue;
      std::size_t settler = n;
      for (std::size_t z = 0; z < n; ++z) {
        if (anc[z].Test(a) && anc[z].Test(b)) {
          settler = z;
          break;
        }
      }
      auto& members = groups.try_emplace(settler, std::vector<bool>(n, false)).first->second;
      members[a] = members[b] = true;
    }
  }
  std::vector<std::pair<std::string, ConflictSet>> keyed;
  std::optional<ConflictSet> open;
  for (const auto& [settler, members] : groups) {
    ConflictSet set;
    std::vector<std::string> versions;
    for (std::size_t r = 0; r < n; ++r) {
      if (!members[r]) continue;
      set.candidates.push_back(order[r]);
      versions.push_back(op(r).version);
    }
    if (settler == n) {
      open = std::move(set);
    } else {
      set.resolved_by = order[settler];
      keyed.emplace_back(CandidateKey(versions), std::move(set));
    }
  }
  // Two groups can, in contrived histories, cover the same ops; one row per candidate set, and a set
  // that still has an unsettled disagreement is open.
  std::string open_key;
  if (open) {
    std::vector<std::string> versions;
    for (std::size_t i : open->candidates) versions.push_back(input[i].version);
    open_key = CandidateKey(versions);
  }
  std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 0; i < keyed.size(); ++i) {
    if (i > 0 && keyed[i].first == keyed[i - 1].first) continue;
    if (open && keyed[i].first == open_key) continue;
    result.conflicts.push_back(std::move(keyed[i].second));
  }
  if (open) result.conflicts.push_back(std::move(*open));
  return result;
}

}  // namespace mnr::server::merge
