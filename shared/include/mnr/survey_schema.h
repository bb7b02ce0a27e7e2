// The MNR survey schema: 6 domains, 21 capabilities and their indicators, loaded from the versioned
// data file schemas/mnr-survey-v<N>.json. The binaries embed the file they were built with; a newer
// file can be loaded at run time. Immutable once loaded; safe to share between threads.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mnr/status.h"

namespace mnr {

enum class Answer { kYes, kPartial, kNo, kUnknown };

// "yes", "partial", "no", "unknown".
std::string_view AnswerName(Answer a);
// Accepts exactly the four names above; nothing else (no case folding: data must be unambiguous).
std::optional<Answer> ParseAnswer(std::string_view s);

struct Label {
  std::string en;
  std::string fr;
  const std::string& In(std::string_view lang) const { return lang == "fr" ? fr : en; }
};

struct Domain {
  int id = 0;
  Label label;
};

struct Capability {
  int id = 0;
  int domain = 0;
  Label label;
  // What the capability means in the Model National Response, for the person answering (en and fr).
  // Empty in a schema file that gives none (guidance is optional in the file format).
  Label guidance;
};

struct Indicator {
  std::string id;          // stable; never renamed once released
  int capability = 0;
  Label label;
  std::string answer_type;  // "yes_partial_no_unknown"
  // What counts as yes or partial for this indicator (en and fr); empty when the file gives none.
  Label guidance;
};

class SurveySchema {
 public:
  // Parses and validates a schema document; `origin` names it in error messages.
  static Result<SurveySchema> Parse(std::string_view json, std::string_view origin);
  // The schema compiled into this binary (schemas/mnr-survey-v1.json at build time).
  static const SurveySchema& Embedded();
  // Loads FILE if given, else the embedded schema; a file older than the embedded one, or one that
  // drops a released indicator, is refused.
  static Result<SurveySchema> Load(const std::optional<std::string>& file);
  // The schema this process works with: the file named by the environment variable MNR_SURVEY_SCHEMA
  // when set (a newer survey release, checked by Load), else the embedded one. Loaded once per process.
  static Result<const SurveySchema*> Active();

  int version() const { return version_; }
  // The survey round the answers belong to, as an SDMX time period ("2025"); empty when the file names
  // none ("round" is optional in the file format). Exports use it as TIME_PERIOD (docs/sdmx.md).
  const std::string& round() const { return round_; }
  // Every round of the survey, oldest first: the file's "rounds", or just "round". The first is always
  // kFirstRound (mnr/field.h) and the last is round(); empty when the file names no round.
  const std::vector<std::string>& rounds() const { return rounds_; }
  // The round before `round` in rounds(); nullopt for the first or an unknown round.
  std::optional<std::string> PreviousRound(std::string_view round) const;
  bool HasRound(std::string_view round) const;
  // OK for the first round (mnr/field.h kFirstRound) and every round listed; otherwise InvalidArgument
  // naming the rounds there are.
  Status CheckRound(std::string_view round) const;
  const std::vector<Domain>& domains() const { return domains_; }
  const std::vector<Capability>& capabilities() const { return capabilities_; }
  const std::vector<Indicator>& indicators() const { return indicators_; }  // in questionnaire order
  const Indicator* FindIndicator(std::string_view id) const;
  const Capability* FindCapability(int id) const;
  const Domain* FindDomain(int id) const;

 private:
  int version_ = 0;
  std::string round_;
  std::vector<std::string> rounds_;
  std::vector<Domain> domains_;
  std::vector<Capability> capabilities_;
  std::vector<Indicator> indicators_;
  std::map<std::string, std::size_t, std::less<>> by_id_;
};

}  // namespace mnr
