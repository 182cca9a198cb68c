// Run apart from `azd up`, with the management group deployment command (an azd deployment is at the
// subscription and cannot assign a role at a management group):
//   az deployment mg create --management-group-id <group id> --location <region> \
//     --template-file infra/management-group/reader.bicep --parameters principalId=<the app identity's principal id>
targetScope = 'managementGroup'

@description('The principal id of the app\'s managed identity (azd env get-values: SERVICE_API_IDENTITY_PRINCIPAL_ID).')
param principalId string

@description('Security Reader by default: what the export reads, Defender for Cloud data through Resource Graph, in every subscription under the group. The built-in Reader role\'s id instead only if Resource Graph leaves subscriptions out with Security Reader (see the README).')
param role string = loadJsonContent('../roles.json').securityReader

resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(managementGroup().id, principalId, role)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: tenantResourceId('Microsoft.Authorization/roleDefinitions', role)
  }
}
