// The api-versions @azure/arm-security 5 sends for these lists.
export const API_VERSIONS = {
  alerts: "2021-11-01",
  assessments: "2021-06-01",
  subAssessments: "2019-01-01-preview",
  secureScores: "2020-01-01",
  regulatoryCompliance: "2019-01-01-preview",
} as const;
