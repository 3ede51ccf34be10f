// "Did you mean …?": the one rule every config, scenario and key-name error uses to
// suggest the name the user probably meant.
#ifndef MOSDAT_CORE_SUGGEST_H_
#define MOSDAT_CORE_SUGGEST_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace mosdat {

// Optimal string alignment distance, ignoring ASCII case: Levenshtein plus adjacent
// transpositions, so "lable" is one edit from "label".
size_t EditDistance(std::string_view a, std::string_view b);

// Words longer than this are never typos (and a fuzzer's garbage costs no quadratic work).
inline constexpr size_t kMaxSuggestedWord = 64;

// Whether `candidate`, `distance` edits from `word`, is close enough to be what the user
// meant: one edit per three characters (at least one), and never more edits than either
// word has characters — "clik" → "click", but not "nope" → "home".
inline bool IsLikelyTypo(std::string_view word, std::string_view candidate, size_t distance) {
  const size_t limit = word.size() / 3 > 1 ? word.size() / 3 : 1;
  return distance <= limit && distance < word.size() && distance < candidate.size();
}

// The candidate closest to `word` when it is a likely typo of it, else "". Ties go to
// the earlier candidate.
template <class Range>
std::string ClosestName(std::string_view word, const Range& candidates) {
  if (word.empty() || word.size() > kMaxSuggestedWord) return "";
  std::string best;
  size_t best_distance = kMaxSuggestedWord + 1;
  for (const auto& c : candidates) {
    const std::string_view candidate(c);
    if (candidate.size() > kMaxSuggestedWord) continue;
    const size_t d = EditDistance(word, candidate);
    if (d < best_distance && IsLikelyTypo(word, candidate, d)) {
      best = std::string(candidate);
      best_distance = d;
    }
  }
  return best;
}

}  // namespace mosdat

#endif  // MOSDAT_CORE_SUGGEST_H_
