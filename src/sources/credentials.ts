import type { TokenCredential } from "@azure/core-auth";
import { DefaultAzureCredential } from "@azure/identity";

/**
 * The credential for ARM: DefaultAzureCredential, so that the platform's managed identity
 * (IDENTITY_ENDPOINT, IDENTITY_HEADER) works in Azure and `az login` on a laptop; a user-assigned
 * managed identity when AZURE_CLIENT_ID is set. Never a secret in the export configuration.
 */
export function defaultCredential(clientId?: string): TokenCredential {
  return clientId ? new DefaultAzureCredential({ managedIdentityClientId: clientId }) : new DefaultAzureCredential();
}
