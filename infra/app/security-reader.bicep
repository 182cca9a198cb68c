@description('Security Reader for the app on one monitored resource group: the Microsoft.Security reads (the role also reads the group\'s Log Analytics workspaces, among others).')
param principalId string

var roles = loadJsonContent('../roles.json')

resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, principalId, roles.securityReader)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.securityReader)
  }
}
