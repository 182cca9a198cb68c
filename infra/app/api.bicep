@description('The Functions app on a Flex Consumption plan, Node 22, running as the user-assigned identity.')
param name string
param planName string
param location string
param tags object = {}
param identityId string
param identityClientId string
param storageAccountName string
param blobEndpoint string
param queueEndpoint string
param tableEndpoint string
param deploymentContainerName string
param applicationInsightsConnectionString string
@description('The export\'s own app settings (DEFENDER_EXPORT_* and the ARM endpoint).')
param exportSettings object
@description('App settings the deployer adds: over the export\'s own, under the host\'s.')
param extraAppSettings object = {}
param maximumInstanceCount int = 40

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  // azd finds the app to deploy to by this tag.
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references in app settings (a connection string kept in a vault) resolve with this identity.
    keyVaultReferenceIdentity: identityId
    siteConfig: { minTlsVersion: '1.2' }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identityId }
        }
      }
      scaleAndConcurrency: { maximumInstanceCount: maximumInstanceCount, instanceMemoryMB: 2048 }
      // Node 20 reached end of life in April 2026.
      runtime: { name: 'node', version: '22' }
    }
  }

  // This PUT replaces every app setting: whatever is not listed here (or in extraAppSettings) is removed.
  resource settings 'config' = {
    name: 'appsettings'
    properties: union(
      exportSettings,
      extraAppSettings,
      {
        // The host's storage and the app's, by identity (shared keys are off on the account).
        AzureWebJobsStorage__accountName: storageAccountName
        AzureWebJobsStorage__blobServiceUri: blobEndpoint
        AzureWebJobsStorage__queueServiceUri: queueEndpoint
        AzureWebJobsStorage__tableServiceUri: tableEndpoint
        AzureWebJobsStorage__credential: 'managedidentity'
        AzureWebJobsStorage__clientId: identityClientId
        // DefaultAzureCredential in the app picks the user-assigned identity by this.
        AZURE_CLIENT_ID: identityClientId
        APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
        // Application Insights has local auth off: the host and the app send with the identity.
        APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
      }
    )
  }
}

output name string = app.name
output id string = app.id
output defaultHostName string = app.properties.defaultHostName
