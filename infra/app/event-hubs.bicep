@description('A new Event Hubs namespace (local auth off) and hub, with Azure Event Hubs Data Sender for the app on the hub.')
param namespaceName string
param hubName string
param location string
param tags object = {}
param principalId string
param partitionCount int = 4

var roles = loadJsonContent('../roles.json')

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: namespaceName
  location: location
  tags: tags
  sku: { name: 'Standard', tier: 'Standard', capacity: 1 }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
  }
}

resource hub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: namespace
  name: hubName
  properties: { partitionCount: partitionCount, messageRetentionInDays: 7 }
}

resource sender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hub.id, principalId, roles.eventHubsDataSender)
  scope: hub
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.eventHubsDataSender)
  }
}

// The namespace's host as the namespace states it (https://<namespace>.servicebus.windows.net:443/ in the public
// cloud), so that sovereign clouds get their own suffix.
output fullyQualifiedNamespace string = split(split(namespace.properties.serviceBusEndpoint, '/')[2], ':')[0]
output hubName string = hub.name
