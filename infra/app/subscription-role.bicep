targetScope = 'subscription'

@description('One role for the app\'s identity on this subscription. A module, so that the assignment\'s name can include the principal id (a parameter here, known when the deployment starts): after azd down and azd up, a new identity gets a new assignment, not RoleAssignmentUpdateNotPermitted on the old one\'s name.')
param principalId string

@description('The role definition\'s name (its GUID), built-in or custom.')
param role string

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, role)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
  }
}
