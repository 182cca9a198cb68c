@description('The Log Analytics destination: the six Security*_CL tables, a data collection endpoint, and a rule with one stream per table, all from the table definitions in src/mapping/ (npm run infra:generate).')
param workspaceName string
param endpointName string
param ruleName string
param location string
param tags object = {}
param principalId string

var roles = loadJsonContent('../roles.json')
var tables = loadJsonContent('../generated/tables.json')
var rule = loadJsonContent('../generated/data-collection-rule.json')

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

resource customTables 'Microsoft.OperationalInsights/workspaces/tables@2023-09-01' = [for table in tables: {
  parent: workspace
  name: table.name
  properties: {
    plan: 'Analytics'
    schema: {
      name: table.name
      description: table.description
      columns: table.columns
    }
  }
}]

resource endpoint 'Microsoft.Insights/dataCollectionEndpoints@2023-03-11' = {
  name: endpointName
  location: location
  tags: tags
  properties: { networkAcls: { publicNetworkAccess: 'Enabled' } }
}

resource dataCollectionRule 'Microsoft.Insights/dataCollectionRules@2023-03-11' = {
  name: ruleName
  location: location
  tags: tags
  properties: {
    dataCollectionEndpointId: endpoint.id
    streamDeclarations: rule.streamDeclarations
    destinations: {
      logAnalytics: [ { name: 'workspace', workspaceResourceId: workspace.id } ]
    }
    dataFlows: rule.dataFlows
  }
  // The tables must exist before a rule can send to them.
  dependsOn: [ customTables ]
}

// Sending rows needs only this, on this rule.
resource publisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(dataCollectionRule.id, principalId, roles.monitoringMetricsPublisher)
  scope: dataCollectionRule
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}

output logsIngestionEndpoint string = endpoint.properties.logsIngestion.endpoint
output ruleImmutableId string = dataCollectionRule.properties.immutableId
output ruleId string = dataCollectionRule.id
