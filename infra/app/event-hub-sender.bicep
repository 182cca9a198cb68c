@description('Azure Event Hubs Data Sender for the app on an existing hub, deployed in the hub\'s own resource group (which may be in another subscription of the tenant).')
param namespaceName string
param hubName string
param principalId string

var roles = loadJsonContent('../roles.json')

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' existing = {
  name: namespaceName
}

resource hub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' existing = {
  parent: namespace
  name: hubName
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
