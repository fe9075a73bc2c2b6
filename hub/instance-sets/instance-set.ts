// Spec 000 §2.2 vocabulary, as the database stores it (the wire enums map onto these in
// instance-set-enums.ts).

export const SET_TYPES = ["project", "department", "application", "training", "custom"] as const;
export type SetType = (typeof SET_TYPES)[number];

export const SET_STATUSES = ["active", "archived", "deleted"] as const;
export type SetStatus = (typeof SET_STATUSES)[number];

export const MEMBER_ROLES = ["teacher", "student", "master", "worker"] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];

/** An instance set (000 §2.2). */
export interface InstanceSet {
  id: string;
  tenantId: string;
  ownerId: string;
  userGroupId: string | null;
  templateId: string | null;
  name: string;
  description: string;
  setType: SetType;
  status: SetStatus;
  tags: Record<string, string>;
  createdAt: Date;
  updatedAt: Date;
  createdBy: string | null;
  updatedBy: string | null;
}

/** A person in a set and their role (000 §2.5.4). */
export interface InstanceSetMember {
  id: string;
  instanceSetId: string;
  userId: string;
  role: MemberRole;
  joinedAt: Date;
  addedBy: string | null;
}

/** An instance's link to its (one) set, with the instance's role in it (000 §2.2 membership). */
export interface InstanceSetLink {
  id: string;
  instanceSetId: string;
  instanceId: string;
  role: MemberRole;
  joinedAt: Date;
  addedBy: string | null;
}
