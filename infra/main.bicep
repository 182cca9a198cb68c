// defender-export for one subscription: `azd up`, or
//   az deployment sub create -l <region> -f infra/main.bicep -p environmentName=<name> location=<region>
// then deploy the app package (azd deploy, or func azure functionapp publish). See the README's "Deploy".
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('A name for this deployment; resource names are derived from it.')
param environmentName string

@minLength(1)
@description('Region of the app and its resources: one that offers the Flex Consumption plan.')
// The regions of Microsoft's functions-quickstart-typescript-azd (infra/main.bicep, February 2026); the current list:
// az functionapp list-flexconsumption-locations.
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'eastus2euap'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({ azd: { type: 'location' } })
param location string

@description('Resource groups of this subscription to export from; empty: the whole subscription. Security Reader is granted on exactly these, and a custom role (subscription-reads-role.json) on the subscription for the reads that exist only there.')
param monitoredResourceGroups array = []

@description('Event sources of the initial export configuration. The *Snapshot sources send the full state on snapshotSchedule. Attack paths need Defender CSPM; without it they are none.')
param eventSources array = [
  'Alerts'
  'Assessments'
  'SubAssessments'
  'SecureScores'
  'SecureScoreControls'
  'RegulatoryComplianceAssessment'
  'AttackPaths'
  'AssessmentsSnapshot'
  'SubAssessmentsSnapshot'
  'SecureScoresSnapshot'
  'SecureScoreControlsSnapshot'
  'RegulatoryComplianceAssessmentSnapshot'
  'AttackPathsSnapshot'
]

@description('Sources with rules (the automations model: [{ eventSource, ruleSets }]); when given, they replace eventSources.')
param sourcesWithRules array = []

@description('When the snapshot sources send everything (NCRONTAB, UTC; weekly by default, as the built-in export).')
param snapshotSchedule string = '0 0 0 * * 0'

@description('Send what exists already when the export starts (a baseline snapshot).')
param baselineSnapshot bool = true

@description('How often streaming passes run (NCRONTAB, six fields).')
param streamSchedule string = '0 */5 * * * *'

@description('How often the app looks for snapshots that are due.')
param snapshotCheckSchedule string = '0 0 * * * *'

@description('Export to the Security*_CL tables of the deployment\'s Log Analytics workspace.')
param exportToLogAnalytics bool = true

@allowed([ 'none', 'new', 'existing' ])
@description('Event Hubs destination: none, a new namespace and hub, or an existing hub (eventHubResourceId).')
param eventHubMode string = 'none'

@description('With eventHubMode existing: the hub\'s resource id, /subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.EventHub/namespaces/<namespace>/eventhubs/<hub>, in any subscription of this tenant.')
param eventHubResourceId string = ''

@description('With eventHubMode new: the hub\'s name.')
param eventHubName string = 'defender-export'

@description('The name of the export configuration the deployment creates.')
param initialConfigurationName string = 'default'

@description('Client id of the Entra ID app registration that guards the management API (README, Deploy). Given: App Service authentication requires an Entra ID token for this registration on every call but health and openapi.json, and changes need its app role Exports.Write. Empty: no App Service authentication, and the function key is the only guard.')
param authClientId string = ''

@description('More app settings ({ "NAME": "value" }), e.g. a destination\'s DEFENDER_EXPORT_DEST_* Key Vault reference. Every provision replaces all app settings: a setting added by hand is gone after the next azd up, one given here stays. They override the export\'s own DEFENDER_EXPORT_* defaults, not the host\'s storage, identity, telemetry and authentication settings.')
param extraAppSettings object = {}

var token = toLower(uniqueString(subscription().id, environmentName, location))
var resourceGroupName = 'rg-${environmentName}'
var tags = { 'azd-env-name': environmentName, application: 'defender-export' }
var appName = 'func-defexp-${token}'
var deploymentContainerName = 'app-package-${take(token, 8)}'
var roles = loadJsonContent('roles.json')
var subscriptionReads = loadJsonContent('subscription-reads-role.json')
// An existing hub: /subscriptions/{2}/resourceGroups/{4}/providers/Microsoft.EventHub/namespaces/{8}/eventhubs/{10}.
// Any other id stops the deployment saying what is expected. Without an existing hub, real names stand in (this
// subscription, the app's own group), so that even the module that is not deployed has a valid scope.
var hubIdParts = split(eventHubResourceId, '/')
var hubIdIsValid = length(hubIdParts) == 11
  ? empty(hubIdParts[0]) && toLower(hubIdParts[1]) == 'subscriptions' && toLower(hubIdParts[3]) == 'resourcegroups' && toLower(hubIdParts[5]) == 'providers' && toLower(hubIdParts[6]) == 'microsoft.eventhub' && toLower(hubIdParts[7]) == 'namespaces' && toLower(hubIdParts[9]) == 'eventhubs'
  : false
var existingHub = eventHubMode != 'existing'
  ? split('/subscriptions/${subscription().subscriptionId}/resourceGroups/${resourceGroupName}/providers/Microsoft.EventHub/namespaces/none/eventhubs/none', '/')
  : hubIdIsValid ? hubIdParts : fail('eventHubResourceId must be an event hub\'s resource id, /subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.EventHub/namespaces/<namespace>/eventhubs/<hub>; it is \'${eventHubResourceId}\'')

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: resourceGroupName
  location: location
  tags: tags
}

module identity 'core/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: { name: 'id-defexp-${token}', location: location, tags: tags }
}

module storage 'core/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: { name: 'stdefexp${take(token, 14)}', location: location, tags: tags, deploymentContainerName: deploymentContainerName }
}

module monitoring 'core/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: { workspaceName: 'log-defexp-${token}', applicationInsightsName: 'appi-defexp-${token}', location: location, tags: tags }
}

module logAnalytics 'app/log-analytics-destination.bicep' = if (exportToLogAnalytics) {
  name: 'log-analytics-destination'
  scope: rg
  params: {
    workspaceName: monitoring.outputs.workspaceName
    endpointName: 'dce-defexp-${token}'
    ruleName: 'dcr-defexp-${token}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
  }
}

module newEventHub 'app/event-hubs.bicep' = if (eventHubMode == 'new') {
  name: 'event-hubs'
  scope: rg
  params: { namespaceName: 'evhns-defexp-${token}', hubName: eventHubName, location: location, tags: tags, principalId: identity.outputs.principalId }
}

// An existing hub, maybe in another subscription: the role is granted where the hub lives. A hub in another
// tenant cannot be granted from here (see the README).
module existingEventHub 'app/event-hub-sender.bicep' = if (eventHubMode == 'existing') {
  name: 'event-hub-sender'
  scope: resourceGroup(existingHub[2], existingHub[4])
  params: { namespaceName: existingHub[8], hubName: existingHub[10], principalId: identity.outputs.principalId }
}

// Security Reader on the subscription, or on each monitored resource group. It reads more than Defender for Cloud
// (Log Analytics workspaces' data among others: see the README); it is the built-in role for reading Defender.
module securityReader 'app/subscription-role.bicep' = if (empty(monitoredResourceGroups)) {
  name: 'security-reader-${token}'
  params: { principalId: identity.outputs.principalId, role: roles.securityReader }
}

module securityReaderOnGroups 'app/security-reader.bicep' = [for group in monitoredResourceGroups: {
  // A deployment name is at most 64 characters; a resource group's, 90.
  name: 'security-reader-${uniqueString(token, group)}'
  scope: resourceGroup(group)
  params: { principalId: identity.outputs.principalId }
}]

// Secure scores, their controls, regulatory compliance, the subscription's assessment metadata and attack paths (Resource
// Graph) are read at the subscription even for a resource group scope (src/sources/reader.ts), where a role on the groups does not reach:
// with monitoredResourceGroups, a custom role grants those reads on the subscription, and nothing else.
resource subscriptionReadsRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (!empty(monitoredResourceGroups)) {
  name: guid(subscription().id, 'defender-export-subscription-reads')
  properties: {
    roleName: '${subscriptionReads.roleName} (${subscription().subscriptionId})'
    description: subscriptionReads.description
    type: 'CustomRole'
    permissions: [ { actions: subscriptionReads.actions, notActions: [], dataActions: [], notDataActions: [] } ]
    assignableScopes: [ subscription().id ]
  }
}

module subscriptionReadsAssignment 'app/subscription-role.bicep' = if (!empty(monitoredResourceGroups)) {
  name: 'subscription-reads-${token}'
  params: { principalId: identity.outputs.principalId, role: subscriptionReadsRole.name }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: { principalId: identity.outputs.principalId, storageAccountName: storage.outputs.name, applicationInsightsName: monitoring.outputs.applicationInsightsName }
}

var scopes = empty(monitoredResourceGroups) ? [ { scopePath: subscription().id } ] : map(monitoredResourceGroups, group => { scopePath: '${subscription().id}/resourceGroups/${group}' })
var workspaceActions = exportToLogAnalytics ? [ { actionType: 'Workspace', dataCollectionEndpoint: logAnalytics.outputs.logsIngestionEndpoint, dataCollectionRuleId: logAnalytics.outputs.ruleImmutableId } ] : []
var eventHubActions = eventHubMode == 'new'
  ? [ { actionType: 'EventHub', fullyQualifiedNamespace: newEventHub.outputs.fullyQualifiedNamespace, eventHubName: newEventHub.outputs.hubName } ]
  : eventHubMode == 'existing' ? [ { actionType: 'EventHub', eventHubResourceId: eventHubResourceId, fullyQualifiedNamespace: existingEventHub.outputs.fullyQualifiedNamespace, eventHubName: existingHub[10] } ] : []
var initialConfiguration = {
  description: 'Created by the deployment ${environmentName}'
  scopes: scopes
  sources: empty(sourcesWithRules) ? map(eventSources, source => { eventSource: source }) : sourcesWithRules
  actions: concat(workspaceActions, eventHubActions)
  snapshotSchedule: snapshotSchedule
  baselineSnapshot: baselineSnapshot
}

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: appName
    planName: 'plan-defexp-${token}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    extraAppSettings: extraAppSettings
    authClientId: authClientId
    // Every setting the app reads (src/hosting/settings.ts); a test checks this list against the code.
    exportSettings: {
      DEFENDER_EXPORT_STORAGE: ''
      ARM_ENDPOINT: environment().resourceManager
      AZURE_TENANT_ID: tenant().tenantId
      DEFENDER_EXPORT_TRUSTED_HOSTS: ''
      DEFENDER_EXPORT_STREAM_SCHEDULE: streamSchedule
      DEFENDER_EXPORT_SNAPSHOT_CHECK_SCHEDULE: snapshotCheckSchedule
      DEFENDER_EXPORT_QUEUE: 'export-passes'
      DEFENDER_EXPORT_PASS_TIME_LIMIT: '540'
      DEFENDER_EXPORT_MAX_BODY_BYTES: '1048576'
      DEFENDER_EXPORT_WRITE_ROLE: 'Exports.Write'
      DEFENDER_EXPORT_MAX_CONFIGURATIONS: '200'
      // Destinations read their secrets only from DEFENDER_EXPORT_DEST_* settings, unless listed here.
      DEFENDER_EXPORT_DESTINATION_SETTINGS: ''
      DEFENDER_EXPORT_INITIAL_CONFIGURATION: string(initialConfiguration)
      DEFENDER_EXPORT_INITIAL_CONFIGURATION_NAME: initialConfigurationName
      // Resource Graph's default quota, shared by the instances through the graph-quota container.
      DEFENDER_EXPORT_GRAPH_QUOTA: '15/5'
    }
  }
  // The app starts exporting at once: its roles must be in place first.
  dependsOn: [ rbac, securityReader, securityReaderOnGroups, subscriptionReadsAssignment, logAnalytics, newEventHub, existingEventHub ]
}

module workbook 'app/workbook.bicep' = {
  name: 'workbook'
  scope: rg
  params: { applicationInsightsId: monitoring.outputs.applicationInsightsId, location: location, tags: tags }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_NAME string = api.outputs.name
// For infra/management-group/reader.bicep, run apart: the identity to grant at a management group.
output SERVICE_API_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output SERVICE_API_NAME string = api.outputs.name
output MANAGEMENT_API string = 'https://${api.outputs.defaultHostName}/api'
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString
output LOGS_INGESTION_ENDPOINT string = exportToLogAnalytics ? logAnalytics.outputs.logsIngestionEndpoint : ''
output DATA_COLLECTION_RULE_ID string = exportToLogAnalytics ? logAnalytics.outputs.ruleImmutableId : ''
