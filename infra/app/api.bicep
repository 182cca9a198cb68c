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
@description('Client id of the Entra ID app registration callers get tokens for; empty: no App Service authentication (the function key is the only guard).')
param authClientId string = ''
param maximumInstanceCount int = 40

var authenticationOn = !empty(authClientId)

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
        // With App Service authentication on, a change without a signed-in caller is refused (401), one without the
        // write role too (403): the platform's X-MS-CLIENT-PRINCIPAL can then be neither forged nor left out.
        DEFENDER_EXPORT_REQUIRE_ROLE: authenticationOn ? 'true' : 'false'
      }
    )
  }

  // Entra ID in front of every function but the probe and the API's description: a call without a valid token for
  // this registration gets 401 from the platform, before the function key is even looked at.
  resource authentication 'config' = if (authenticationOn) {
    name: 'authsettingsV2'
    properties: {
      platform: { enabled: true }
      globalValidation: {
        requireAuthentication: true
        unauthenticatedClientAction: 'Return401'
        excludedPaths: [ '/api/health', '/api/openapi.json' ]
      }
      identityProviders: {
        azureActiveDirectory: {
          enabled: true
          registration: {
            clientId: authClientId
            openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
          }
          validation: { allowedAudiences: [ authClientId, 'api://${authClientId}' ] }
        }
      }
      httpSettings: { requireHttps: true }
    }
    // One configuration write at a time on the site.
    dependsOn: [ settings ]
  }
}

output name string = app.name
output id string = app.id
output defaultHostName string = app.properties.defaultHostName
