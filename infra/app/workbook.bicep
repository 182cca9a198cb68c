@description('The monitoring workbook (infra/workbook.json), on the app\'s Application Insights.')
param applicationInsightsId string
param location string
param tags object = {}
param displayName string = 'defender-export'

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(applicationInsightsId, 'defender-export-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    sourceId: toLower(applicationInsightsId)
    serializedData: loadTextContent('../workbook.json')
  }
}

output id string = workbook.id
