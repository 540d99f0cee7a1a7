/** Word lists for deterministic demo names. */
export const COMPANY_FIRST = [
  'Amber', 'Apex', 'Aurora', 'Banyan', 'Bluewater', 'Bright', 'Cedar', 'Coastal', 'Copper', 'Crescent', 'Crown',
  'Delta', 'Eastern', 'Ember', 'Evergreen', 'Falcon', 'Fern', 'Golden', 'Granite', 'Harbor', 'Highland', 'Indigo',
  'Iron', 'Jade', 'Juniper', 'Keystone', 'Lakeside', 'Lotus', 'Maple', 'Meadow', 'Monsoon', 'Northwind', 'Oakridge',
  'Orchid', 'Pacific', 'Peacock', 'Pinnacle', 'Prairie', 'Quartz', 'Redwood', 'Riverbend', 'Saffron', 'Sandstone',
  'Silverline', 'Summit', 'Sunrise', 'Tamarind', 'Teal', 'Timber', 'Trident', 'Union', 'Valley', 'Vermilion',
  'Westgate', 'Willow', 'Zenith', 'Marigold', 'Cobalt', 'Horizon', 'Basil',
] as const;

export const COMPANY_SECOND = [
  'Traders', 'Textiles', 'Foods', 'Logistics', 'Pharma', 'Engineering', 'Electricals', 'Furniture', 'Spices',
  'Hardware', 'Packaging', 'Printers', 'Motors', 'Agro', 'Ceramics', 'Plastics', 'Paper', 'Exports', 'Imports',
  'Solutions', 'Systems', 'Interiors', 'Apparel', 'Steel', 'Chemicals', 'Dairy', 'Bakers', 'Optics', 'Tools',
  'Supplies', 'Garments', 'Beverages', 'Labs', 'Builders', 'Glass', 'Rubber', 'Tiles', 'Cables', 'Pumps', 'Farms',
] as const;

export const COMPANY_SUFFIX = ['Pvt Ltd', 'LLP', 'Co', 'Inc', 'Ltd', '& Sons', 'Enterprises', 'Group', 'Industries', 'Works'] as const;

export const FIRST_NAMES = [
  'Aarav', 'Aditi', 'Ananya', 'Arjun', 'Bhavna', 'Carlos', 'Chen', 'Deepa', 'Divya', 'Elena', 'Farhan', 'Gaurav',
  'Hana', 'Isha', 'Jamal', 'Karan', 'Kavya', 'Leila', 'Meera', 'Mohan', 'Nadia', 'Neha', 'Omar', 'Priya', 'Rahul',
  'Ravi', 'Rohan', 'Sana', 'Sofia', 'Tara', 'Vikram', 'Yusuf', 'Zara', 'Maya', 'Noah', 'Liam', 'Emma', 'Olivia',
] as const;

export const LAST_NAMES = [
  'Sharma', 'Iyer', 'Patel', 'Reddy', 'Nair', 'Gupta', 'Khan', 'Mehta', 'Rao', 'Singh', 'Das', 'Kapoor', 'Fernandes',
  'Menon', 'Bose', 'Joshi', 'Pillai', 'Verma', 'Chopra', 'Malik', 'Garcia', 'Smith', 'Wong', 'Silva', 'Costa',
] as const;

export const REGIONS = ['North', 'South', 'East', 'West', 'Central'] as const;
export const SEGMENTS = ['Retail', 'Wholesale', 'Enterprise', 'Government'] as const;
export const CHANNELS = ['Online', 'Retail', 'Distributor', 'Direct'] as const;
export const PAYMENT_MODES = ['cash', 'check', 'banktransfer', 'creditcard', 'upi'] as const;
export const ITEMS = [
  'Consulting hours', 'Annual support', 'Steel rods', 'Cotton fabric', 'Packaging boxes', 'Office chairs',
  'LED panels', 'Spare parts kit', 'Printing job', 'Delivery charges', 'Raw spices', 'Ceramic tiles',
] as const;
