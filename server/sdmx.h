// The dataset for statistics offices (docs/sdmx.md): SDMX-CSV observations and the SDMX-ML 2.1
// structure message (data structure definition, code lists, concept scheme, dataflow) they refer to.
// One dataflow, MNR:DF_MNR_DATASET(2.0); dimensions INDICATOR, GROUP, MEASURE and TIME_PERIOD (the
// survey round). Country counts (indicator rows) and pooled answer counts (capability and domain
// rows) are separate measures, so no code means two things. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "mnr/survey_schema.h"
#include "server/dataset.h"

namespace mnr::server {

// Agency, identifiers and version of everything the two documents name. A change of columns or codes
// gets a new version (docs/sdmx.md).
inline constexpr const char* kSdmxAgency = "MNR";
inline constexpr const char* kSdmxDataflow = "DF_MNR_DATASET";
inline constexpr const char* kSdmxStructure = "DSD_MNR_DATASET";
inline constexpr const char* kSdmxVersion = "2.0";

struct SdmxOptions {
  // TIME_PERIOD of every observation: the survey round ("2025"). Required: both writers refuse none.
  std::string time_period;
  // Public exports: a group with fewer countries than this has no figures (OBS_VALUE empty, OBS_STATUS
  // M, CONF_STATUS C). 0 for the coordinator's export, which keeps every count.
  int min_group = 0;
};

// SDMX-CSV version 1 (RFC 4180, CRLF, UTF-8): header
// DATAFLOW,INDICATOR,GROUP,MEASURE,TIME_PERIOD,OBS_VALUE,UNIT_MEASURE,OBS_STATUS,CONF_STATUS, then one
// line per row of `d` and measure, in the dataset's row order. InvalidArgument if no time period.
Result<std::string> SdmxCsv(const Dataset& d, const SdmxOptions& options);

// The SDMX-ML 2.1 structure message (mes:Structure) that SdmxCsv's codes belong to: the code lists
// hold every indicator, capability and domain of `schema`, every group of `d` (regions included),
// every measure, unit and status. `prepared` (Unix seconds) is the header's preparation time, so a
// release's structure is the same bytes every time. Valid against SDMXMessage.xsd of SDMX-ML 2.1.
Result<std::string> SdmxStructureMessage(const Dataset& d, const SurveySchema& schema, const SdmxOptions& options,
                                         std::int64_t prepared);

}  // namespace mnr::server
